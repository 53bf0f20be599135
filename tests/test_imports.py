"""Bulk import jobs in the engine (redkite.engine.imports): files under the database
directory, inserted in batches through the normal insert path."""

from __future__ import annotations

import json
import os

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from redkite import DataType, MilvusClient
from redkite.engine import imports
from redkite.engine.database import Database
from redkite.errors import ParamError


@pytest.fixture
def db(tmp_path):
    database = Database.open(tmp_path / "app.db")
    schema = MilvusClient.create_schema(auto_id=True, enable_dynamic_field=True)
    schema.add_field("id", DataType.INT64, is_primary=True)
    schema.add_field("vector", DataType.FLOAT_VECTOR, dim=2)
    database.create_collection(None, "c", schema, index_params=[
        {"field_name": "vector", "index_type": "FLAT", "metric_type": "L2", "params": {}}])
    database.create_partition(None, "c", "p1")
    yield database
    database.release()


def _write_json(db, name: str, rows) -> str:
    (db.path / name).write_text(json.dumps(rows))
    return name


def test_rows_land_in_the_partition_with_fresh_auto_ids(db, monkeypatch):
    monkeypatch.setattr(imports, "BATCH_ROWS", 4)  # several batches per file
    jobs = imports.import_jobs(db)
    assert imports.import_jobs(db) is jobs
    rows = [{"vector": [float(i), 0.0], "colour": "red" if i % 2 else "blue"}
            for i in range(10)]
    job = jobs.create(None, "c", [[_write_json(db, "a.json", {"rows": rows})]],
                      partition_name="p1")
    info = jobs.wait(job)
    assert (info["state"], info["imported_rows"], info["progress"]) == ("Completed", 10, 100)
    assert db.get_partition_stats(None, "c", "p1") == {"row_count": 10}
    assert db.get_partition_stats(None, "c", "_default") == {"row_count": 0}
    db.load_collection(None, "c")
    got = db.query(None, "c", filter='colour == "red"', output_fields=["id"])
    assert len(got) == 5 and len({r["id"] for r in got}) == 5


def test_parquet_dynamic_fields_come_from_meta(db):
    table = pa.table({"vector": pa.array([[1.0, 2.0], [3.0, 4.0]], pa.list_(pa.float32())),
                      "$meta": ['{"k": 1}', '{"k": 2}']})
    pq.write_table(table, db.path / "d.parquet")
    jobs = imports.import_jobs(db)
    assert jobs.wait(jobs.create(None, "c", [["d.parquet"]]))["state"] == "Completed"
    db.load_collection(None, "c")
    assert [r["k"] for r in db.query(None, "c", filter="k > 1", output_fields=["k"])] == [2]


def test_wrong_dimension_in_parquet_fails_before_writing(db):
    table = pa.table({"vector": pa.array([[1.0, 2.0, 3.0]], pa.list_(pa.float64()))})
    pq.write_table(table, db.path / "wide.parquet")
    jobs = imports.import_jobs(db)
    info = jobs.wait(jobs.create(None, "c", [["wide.parquet"]]))
    assert info["state"] == "Failed" and "vector" in info["reason"]
    assert info["imported_rows"] == 0


def test_a_timeout_fails_the_job(db):
    jobs = imports.import_jobs(db)
    name = _write_json(db, "t.json", [{"vector": [1.0, 1.0]}])
    info = jobs.wait(jobs.create(None, "c", [[name]], options={"timeout": "0s"}))
    assert info["state"] == "Failed" and "timed out" in info["reason"]
    with pytest.raises(ParamError, match="timeout"):
        jobs.create(None, "c", [[name]], options={"timeout": "soon"})


def test_paths_must_stay_inside_the_directory(db, tmp_path):
    outside = tmp_path / "secret.json"
    outside.write_text("[]")
    os.symlink(outside, db.path / "link.json")
    jobs = imports.import_jobs(db)
    for path in ("link.json", str(outside), "../secret.json"):
        with pytest.raises(ParamError, match="outside the database directory"):
            jobs.create(None, "c", [[path]])
    inside = db.path / "ok.json"
    inside.write_text("[]")
    assert jobs.wait(jobs.create(None, "c", [[str(inside)]]))["state"] == "Completed"


def test_jobs_are_listed_per_database_and_collection(db):
    jobs = imports.import_jobs(db)
    name = _write_json(db, "e.json", [])
    first = jobs.create(None, "c", [[name]])
    jobs.wait(first)
    assert [j["job_id"] for j in jobs.list(None, "c")] == [first]
    assert jobs.list(None, "other") == []
    db.create_database("second")
    assert jobs.list("second") == []
    with pytest.raises(ParamError, match="invalid import job id"):
        jobs.describe("abc")
