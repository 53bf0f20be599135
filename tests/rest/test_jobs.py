"""jobs/import/*: bulk import of JSON and Parquet files from the data directory."""

from __future__ import annotations

import json
import time

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from .conftest import error, ok
from .test_indexes import tagged_schema


@pytest.fixture
def target(rest_server):
    """An auto_id collection (id, vector[2], tag) and the data directory's import folder."""
    from redkite import MilvusClient

    index = MilvusClient.prepare_index_params("vector", metric_type="L2")
    rest_server.client.create_collection("imported", schema=tagged_schema(auto_id=True),
                                         index_params=index)
    folder = rest_server.running.db.path / "import"
    folder.mkdir(exist_ok=True)
    yield folder
    rest_server.client.drop_collection("imported")


def _wait(post, job_id: str) -> dict:
    deadline = time.monotonic() + 20
    while True:
        info = ok(post("jobs/import/describe", {"jobId": job_id}))
        if info["state"] in ("Completed", "Failed") or time.monotonic() > deadline:
            return info
        time.sleep(0.05)


def _create(post, files: list[str]) -> str:
    data = ok(post("jobs/import/create", {"collectionName": "imported",
                                          "files": [[f] for f in files]}))
    assert isinstance(data["jobId"], str)
    return data["jobId"]


def test_import_json_and_parquet(rest_server, target):
    post = rest_server.post
    rows = [{"vector": [float(i), 1.0], "tag": f"j{i}"} for i in range(5)]
    (target / "rows.json").write_text(json.dumps({"rows": rows}))
    (target / "list.json").write_text(json.dumps(rows[:2]))
    table = pa.table({"vector": pa.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]],
                                         pa.list_(pa.float64())),
                      "tag": ["p0", "p1", "p2"]})
    pq.write_table(table, target / "rows.parquet")

    job = _create(post, ["import/rows.json", "import/list.json", "import/rows.parquet"])
    info = _wait(post, job)
    assert info["state"] == "Completed", info.get("reason")
    assert info["progress"] == 100 and info["importedRows"] == info["totalRows"] == 10
    assert [d["fileName"] for d in info["details"]] == [
        "import/rows.json", "import/list.json", "import/rows.parquet"]
    assert all(d["state"] == "Completed" for d in info["details"])
    assert ok(post("jobs/import/get_progress", {"jobId": job}))["state"] == "Completed"

    rest_server.client.load_collection("imported")
    got = rest_server.client.query("imported", filter="tag like 'p%'", output_fields=["tag"])
    assert sorted(r["tag"] for r in got) == ["p0", "p1", "p2"]
    assert rest_server.client.query("imported", filter="", output_fields=["count(*)"])[0][
        "count(*)"] == 10
    records = ok(post("jobs/import/list", {"collectionName": "imported"}))["records"]
    assert {"jobId": job, "collectionName": "imported", "state": "Completed",
            "progress": 100} in records


def test_bad_files_fail_the_job_with_a_reason(rest_server, target):
    post = rest_server.post
    (target / "bad.json").write_text(json.dumps([{"vector": [1.0], "tag": "short"}]))
    info = _wait(post, _create(post, ["import/bad.json"]))
    assert info["state"] == "Failed" and "bad.json" in info["reason"]
    assert info["details"][0]["state"] == "Failed"
    info = _wait(post, _create(post, ["import/missing.json"]))
    assert info["state"] == "Failed" and "missing.json" in info["reason"]
    assert info["importedRows"] == 0
    pq.write_table(pa.table({"other": [1]}), target / "other.parquet")
    info = _wait(post, _create(post, ["import/other.parquet"]))
    assert info["state"] == "Failed" and "['other']" in info["reason"]
    (target / "broken.json").write_text("{not json")
    info = _wait(post, _create(post, ["import/broken.json"]))
    assert info["state"] == "Failed" and "not valid JSON" in info["reason"]
    records = ok(post("jobs/import/list", {}))["records"]
    assert any(r["state"] == "Failed" and r["reason"] for r in records)


def test_import_request_errors(rest_server, target):
    post = rest_server.post
    body = {"collectionName": "imported"}
    for path in ("../outside.json", "/etc/passwd.json", "import/../../x.json"):
        message = error(post("jobs/import/create", {**body, "files": [[path]]}), 1100)
        assert "outside the database directory" in message
    assert "format" in error(post("jobs/import/create", {**body, "files": [["a.csv"]]}), 1100)
    assert "exactly one" in error(post("jobs/import/create", {**body, "files": [["a", "b"]]}),
                                  1100)
    assert "files" in error(post("jobs/import/create", body), 1802)
    assert "files" in error(post("jobs/import/create", {**body, "files": "a.json"}), 1801)
    assert "options" in error(post("jobs/import/create", {**body, "files": [["a.json"]],
                                                          "options": {"backup": "true"}}), 1100)
    error(post("jobs/import/create", {"collectionName": "ghost", "files": [["a.json"]]}), 100)
    assert "jobId" in error(post("jobs/import/describe", {}), 1802)
    assert "jobId" in error(post("jobs/import/describe", {"jobId": 12}), 1801)
    assert "not found" in error(post("jobs/import/describe", {"jobId": "12"}), 2100)
