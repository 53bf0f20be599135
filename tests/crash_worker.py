"""Subprocess helper for the crash and durability tests (real processes, real files).

Usage: ``python tests/crash_worker.py <mode> <db path> [args...]``

* ``crash <db> <run dir> <run> <seed>`` -- open the database (seal threshold lowered so
  sealing and background compaction happen), create the collections if needed, write a
  dump of every row to ``<run dir>/dump-<run>.json``, print ``READY``, then loop over small
  inserts / upserts / deletes until killed. Before each call it appends an *intent* line to
  ``<run dir>/acks-<run>.log``; after the call returns it appends an *ack* line (flushed and
  fsynced), so the parent knows exactly what was acknowledged and what was in flight.
* ``populate <db> <out.json> <close|kill>`` -- build a database using every storable field
  type, partitions, indexes, aliases, load states, dynamic fields, deletes and upserts (some
  rows sealed to files, some only in the WAL), dump it to ``out.json``, then close cleanly or
  SIGKILL itself.
* ``hold <db>`` -- open the database, print ``READY <pid>``, wait for stdin to close.
* ``try_open <db>`` -- try to open the database; print one JSON line with the outcome.
* ``short_write <db> <out.json>`` -- make WAL appends fail for real (RLIMIT_FSIZE), record
  which inserts were acknowledged, then SIGKILL itself.
* ``insert_then_die <db> <out.json> <n>`` -- open, insert ``n`` single-row batches into
  collection ``q`` (created if needed; auto-id collection ``auto`` too), record what was
  acknowledged in ``out.json`` (fsynced) and SIGKILL itself.

The row generators (``quick_row``, ``custom_row``) and ``dump_state`` are imported by the
tests, so the parent and the worker agree on exact values.
"""

from __future__ import annotations

import json
import os
import random
import signal
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

QUICK = "quick"
CUSTOM = "custom"
QUICK_DIM = 8
CUSTOM_DIM = 4
MAX_DUMP = 16384  # query limit + offset cap


# ---- deterministic row values (exact in float32) ----------------------------------------------
def quick_vector(pk: int, version: int) -> list[float]:
    return [float((pk * 7 + version * 3 + k) % 251) / 4.0 for k in range(QUICK_DIM)]


def quick_row(pk: int, version: int) -> dict:
    return {"id": pk, "vector": quick_vector(pk, version), "ver": version,
            "note": f"pk{pk}-v{version}"}


def custom_row(seed: int) -> dict:
    """A row of the custom (auto id) collection, fully determined by ``seed``."""
    return {
        "title": f"title-{seed}-" + "x" * (seed % 13),
        "meta": {"seed": seed, "even": seed % 2 == 0, "nested": {"k": [seed % 5, "s"]}},
        "tags": [seed % 7, seed % 11, seed],
        "emb": [float((seed + k) % 17) / 2.0 for k in range(CUSTOM_DIM)],
        "score": seed / 8.0,
        "flag": seed % 3 == 0,
        "extra": f"dyn-{seed}",
    }


def custom_expected(pk: int, seed: int) -> dict:
    return {"pk": pk, **custom_row(seed)}


# ---- setup / dump -----------------------------------------------------------------------------
def setup_collections(client) -> None:
    from redkite import DataType

    if not client.has_collection(QUICK):
        client.create_collection(QUICK, dimension=QUICK_DIM)
    if not client.has_collection(CUSTOM):
        schema = client.create_schema(auto_id=True, enable_dynamic_field=True)
        schema.add_field("pk", DataType.INT64, is_primary=True)
        schema.add_field("title", DataType.VARCHAR, max_length=256)
        schema.add_field("meta", DataType.JSON)
        schema.add_field("tags", DataType.ARRAY, element_type=DataType.INT64, max_capacity=8)
        schema.add_field("emb", DataType.FLOAT_VECTOR, dim=CUSTOM_DIM)
        schema.add_field("score", DataType.DOUBLE)
        schema.add_field("flag", DataType.BOOL)
        index = client.prepare_index_params()
        index.add_index("emb", index_type="FLAT", metric_type="L2")
        client.create_collection(CUSTOM, schema=schema, index_params=index)


def dump_collection(client, name: str) -> list[dict]:
    rows = client.query(name, filter="", limit=MAX_DUMP, output_fields=["*"])
    return [dict(r) for r in rows]


def dump_state(client) -> dict:
    """Every row of both crash-test collections plus their counts."""
    out = {}
    for name in (QUICK, CUSTOM):
        rows = dump_collection(client, name)
        count = client.query(name, output_fields=["count(*)"])[0]["count(*)"]
        stats = client.get_collection_stats(name)["row_count"]
        out[name] = {"rows": rows, "count": count, "stats": stats}
    return out


def _write_json_durably(path: Path, payload) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    with open(tmp, "w") as handle:
        json.dump(payload, handle)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def _die() -> None:
    sys.stdout.flush()
    sys.stderr.flush()
    os.kill(os.getpid(), signal.SIGKILL)


# ---- crash mode -------------------------------------------------------------------------------
def run_crash(db: str, run_dir: str, run: int, seed: int) -> None:
    import redkite.engine.storage.store as store

    store.SEAL_ROWS = 500  # seal (and so compact in the background) during the loop
    from redkite import MilvusClient

    rng = random.Random(seed)
    client = MilvusClient(db)
    setup_collections(client)
    state = dump_state(client)
    _write_json_durably(Path(run_dir) / f"dump-{run}.json", state)
    live_q = {row["id"]: row["ver"] for row in state[QUICK]["rows"]}
    live_c = [row["pk"] for row in state[CUSTOM]["rows"]]
    log = open(Path(run_dir) / f"acks-{run}.log", "a")
    print("READY", flush=True)

    next_pk = run * 1_000_000
    op_number = 0

    def record(entry: dict, sync: bool) -> None:
        log.write(json.dumps(entry) + "\n")
        log.flush()
        if sync:
            os.fsync(log.fileno())

    deadline = time.monotonic() + 60  # the parent kills us long before this
    while time.monotonic() < deadline:
        op_number += 1
        seq = f"{run}-{op_number}"
        version = run * 1_000_000 + op_number
        big_q, big_c = len(live_q) > 1500, len(live_c) > 1500
        roll = rng.random()
        if roll < 0.02:
            client.flush(rng.choice([QUICK, CUSTOM]))
            continue
        if roll < 0.27:
            count = rng.randint(1, 8)
            pks = list(range(next_pk, next_pk + count))
            next_pk += count
            if big_q:
                op = {"op": "delete_q", "pks": rng.sample(sorted(live_q), 8)}
            else:
                op = {"op": "insert_q", "pks": pks, "version": version}
        elif roll < 0.45:
            chosen = rng.sample(sorted(live_q), min(len(live_q), rng.randint(1, 5)))
            chosen.append(next_pk)  # upsert of a pk that does not exist yet inserts it
            next_pk += 1
            op = {"op": "upsert_q", "pks": chosen, "version": version}
        elif roll < 0.62:
            chosen = rng.sample(sorted(live_q), min(len(live_q), rng.randint(1, 6)))
            op = {"op": "delete_q", "pks": chosen + [next_pk + 999_999]}  # + one absent pk
        elif roll < 0.85 and not big_c:
            count = rng.randint(1, 8)
            op = {"op": "insert_c", "seeds": [rng.randrange(1 << 30) for _ in range(count)]}
        elif live_c:
            chosen = rng.sample(live_c, min(len(live_c), rng.randint(1, 6)))
            op = {"op": "delete_c", "pks": chosen}
        else:
            op = {"op": "insert_c", "seeds": [rng.randrange(1 << 30)]}
        op["seq"] = seq
        record({"t": "intent", **op}, sync=False)
        kind = op["op"]
        ack: dict = {"t": "ack", "seq": seq}
        if kind == "insert_q":
            client.insert(QUICK, [quick_row(pk, version) for pk in op["pks"]])
            live_q.update({pk: version for pk in op["pks"]})
        elif kind == "upsert_q":
            client.upsert(QUICK, [quick_row(pk, version) for pk in op["pks"]])
            live_q.update({pk: version for pk in op["pks"]})
        elif kind == "delete_q":
            client.delete(QUICK, ids=op["pks"])
            for pk in op["pks"]:
                live_q.pop(pk, None)
        elif kind == "insert_c":
            result = client.insert(CUSTOM, [custom_row(s) for s in op["seeds"]])
            ack["ids"] = list(result["ids"])
            live_c.extend(result["ids"])
        elif kind == "delete_c":
            client.delete(CUSTOM, ids=op["pks"])
            gone = set(op["pks"])
            live_c = [pk for pk in live_c if pk not in gone]
        record(ack, sync=True)
    print("worker loop ran out of time", file=sys.stderr)
    sys.exit(3)


# ---- populate mode ----------------------------------------------------------------------------
def full_schema(client):
    from redkite import DataType

    schema = client.create_schema(auto_id=False, enable_dynamic_field=True,
                                  description="every storable type")
    schema.add_field("pk", DataType.INT64, is_primary=True)
    schema.add_field("b", DataType.BOOL)
    schema.add_field("i8", DataType.INT8)
    schema.add_field("i16", DataType.INT16)
    schema.add_field("i32", DataType.INT32)
    schema.add_field("i64", DataType.INT64)
    schema.add_field("f", DataType.FLOAT)
    schema.add_field("d", DataType.DOUBLE)
    schema.add_field("s", DataType.VARCHAR, max_length=64)
    schema.add_field("j", DataType.JSON)
    schema.add_field("ai", DataType.ARRAY, element_type=DataType.INT32, max_capacity=5)
    schema.add_field("as_", DataType.ARRAY, element_type=DataType.VARCHAR, max_capacity=5,
                     max_length=16)
    schema.add_field("af", DataType.ARRAY, element_type=DataType.DOUBLE, max_capacity=5)
    schema.add_field("n", DataType.INT64, nullable=True)
    schema.add_field("dv", DataType.VARCHAR, max_length=16, default_value="dflt")
    schema.add_field("v", DataType.FLOAT_VECTOR, dim=4)
    return schema


def full_row(pk: int, version: int = 0) -> dict:
    row = {
        "pk": pk, "b": pk % 2 == 0, "i8": (pk % 200) - 100, "i16": pk * 3 - 1000,
        "i32": pk * 1001, "i64": pk * 10**12 + version, "f": pk / 4.0, "d": pk / 3.0 + version,
        "s": f"s-{pk}-{version}", "j": {"pk": pk, "list": [1, "two", None], "v": version},
        "ai": [pk, -pk, 7], "as_": [f"a{pk}", "b"], "af": [0.5, pk / 8.0],
        "v": [float(pk % 9), 0.25, -1.5, float(version)],
        "dyn_int": pk, "dyn_str": f"dyn{pk}",
    }
    if pk % 3:
        row["n"] = pk * 5
    if pk % 4:
        row["dv"] = f"given{pk % 100}"
    return row


def populate(db: str) -> dict:
    """Build the rich database; return the catalog + row snapshot the tests compare."""
    from redkite import MilvusClient

    client = MilvusClient(db)
    schema = full_schema(client)
    index = client.prepare_index_params()
    index.add_index("v", index_type="FLAT", metric_type="IP", index_name="v_idx")
    client.create_collection("full", schema=schema, index_params=index,
                             consistency_level="Strong")
    client.create_partition("full", "p1")
    client.create_partition("full", "p2")
    client.insert("full", [full_row(pk) for pk in range(0, 40)])
    client.insert("full", [full_row(pk) for pk in range(100, 130)], partition_name="p1")
    client.flush("full")  # sealed to files from here on
    client.delete("full", ids=[1, 2, 3, 101])  # deletes on sealed rows (delete mask)
    client.upsert("full", [full_row(pk, version=9) for pk in (4, 5)])
    client.upsert("full", [full_row(102, version=9)], partition_name="p1")
    client.insert("full", [full_row(pk) for pk in range(200, 220)], partition_name="p2")
    client.delete("full", ids=[200, 201, 5])  # deletes on growing rows
    client.create_alias("full", "full_alias")
    client.create_alias("full", "other_alias")

    # A second collection, released, with a scalar index too and no load.
    client.create_collection("quick", dimension=3, metric_type="L2", auto_id=True)
    ids = client.insert("quick", [{"vector": [1.0, 2.0, 3.0], "tag": i} for i in range(10)])
    client.delete("quick", ids=ids["ids"][:3])
    client.release_collection("quick")
    # Data removed by catalog operations must stay removed after a crash (WAL replay).
    client.create_partition("full", "p3")
    client.insert("full", [full_row(pk) for pk in range(300, 305)], partition_name="p3")
    client.release_partitions("full", ["p3"])
    client.drop_partition("full", "p3")
    client.create_collection("trunc", dimension=2)
    client.insert("trunc", [{"id": i, "vector": [1.0, 0.0]} for i in range(5)])
    client.truncate_collection("trunc")
    client.insert("trunc", [{"id": 100, "vector": [0.0, 1.0]}])
    client.create_collection("again", dimension=2)
    client.insert("again", [{"id": i, "vector": [1.0, 0.0]} for i in range(5)])
    client.drop_collection("again")
    client.create_collection("again", dimension=2)
    client.insert("again", [{"id": 7, "vector": [0.0, 1.0]}])
    # Partition-level load state: only p1 of "parts" loaded.
    client.create_collection("parts", dimension=2)
    client.create_partition("parts", "p1")
    client.create_partition("parts", "p2")
    client.insert("parts", [{"id": 1, "vector": [1.0, 0.0]}], partition_name="p1")
    client.insert("parts", [{"id": 2, "vector": [0.0, 1.0]}], partition_name="p2")
    client.release_collection("parts")
    client.load_partitions("parts", ["p1"])
    client.create_database("other")
    client.use_database("other")
    client.create_collection("in_other", dimension=2)
    client.insert("in_other", [{"id": 1, "vector": [0.5, 0.5]}])
    client.use_database("default")
    snapshot = describe_everything(client)
    return {"client": client, "snapshot": snapshot}


def describe_everything(client) -> dict:
    """A JSON-able picture of the populated database (catalog and rows)."""
    out: dict = {"databases": sorted(client.list_databases())}
    desc = client.describe_collection("full")
    for key in ("created_timestamp", "update_timestamp"):
        desc.pop(key, None)
    out["full_desc"] = _jsonable(desc)
    out["full_partitions"] = sorted(client.list_partitions("full"))
    out["full_indexes"] = client.list_indexes("full")
    out["full_index_desc"] = _jsonable(client.describe_index("full", "v_idx"))
    out["full_load"] = int(client.get_load_state("full")["state"])
    out["quick_load"] = int(client.get_load_state("quick")["state"])
    out["parts_load"] = {p: int(client.get_load_state("parts", partition_name=p)["state"])
                         for p in ("_default", "p1", "p2")}
    out["parts_p1_rows"] = [r["id"] for r in client.query("parts", filter="", limit=10,
                                                          partition_names=["p1"])]
    out["trunc_rows"] = [r["id"] for r in client.query("trunc", filter="", limit=10)]
    out["again_rows"] = [r["id"] for r in client.query("again", filter="", limit=10)]
    out["aliases"] = sorted(client.list_aliases("full")["aliases"])
    out["alias_target"] = client.describe_alias("full_alias")["collection_name"]
    out["full_rows"] = _jsonable(client.query("full", filter="", limit=1000,
                                              output_fields=["*"]))
    out["full_count"] = client.get_collection_stats("full")["row_count"]
    for partition in ("_default", "p1", "p2"):
        out[f"rows_{partition}"] = sorted(r["pk"] for r in client.query(
            "full", filter="", limit=1000, output_fields=["pk"], partition_names=[partition]))
    out["via_alias"] = len(client.query("full_alias", filter="", limit=1000))
    out["quick_count"] = client.get_collection_stats("quick")["row_count"]
    client.load_collection("quick")
    out["quick_rows"] = _jsonable(client.query("quick", filter="", limit=1000,
                                               output_fields=["*"]))
    client.release_collection("quick")
    client.use_database("other")
    out["other_rows"] = _jsonable(client.query("in_other", filter="", limit=10,
                                               output_fields=["*"]))
    client.use_database("default")
    return out


def _jsonable(value):
    return json.loads(json.dumps(value, default=lambda v: v if isinstance(v, (int, float))
                                 else str(v)))


# ---- small modes ------------------------------------------------------------------------------
def hold(db: str) -> None:
    from redkite import MilvusClient

    client = MilvusClient(db)
    print(f"READY {os.getpid()}", flush=True)
    sys.stdin.read()
    client.close()


def try_open(db: str) -> None:
    from redkite import MilvusClient, MilvusException

    try:
        client = MilvusClient(db)
    except MilvusException as exc:
        print(json.dumps({"ok": False, "type": type(exc).__name__, "message": str(exc),
                          "milvus": True}), flush=True)
        return
    except Exception as exc:  # noqa: BLE001 - report anything
        print(json.dumps({"ok": False, "type": type(exc).__name__, "message": str(exc),
                          "milvus": False}), flush=True)
        return
    names = client.list_collections()
    client.close()
    print(json.dumps({"ok": True, "collections": names}), flush=True)


def insert_then_die(db: str, out: str, count: int) -> None:
    from redkite import MilvusClient

    client = MilvusClient(db)
    if not client.has_collection("q"):
        client.create_collection("q", dimension=QUICK_DIM)
    if not client.has_collection("auto"):
        client.create_collection("auto", dimension=QUICK_DIM, auto_id=True)
    acked, auto_ids = [], []
    base = int(time.time() * 1000) % 1_000_000 * 1000
    for i in range(count):
        client.insert("q", [quick_row(base + i, 1)])
        acked.append(base + i)
        auto_ids.extend(client.insert("auto", [{"vector": quick_vector(i, 2)}])["ids"])
    _write_json_durably(Path(out), {"acked": acked, "auto_ids": auto_ids})
    _die()


def short_write(db: str, out: str) -> None:
    """Hit a real write failure (RLIMIT_FSIZE) in the middle of a WAL append."""
    import resource

    from redkite import MilvusClient

    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # get EFBIG / short writes, not a signal
    client = MilvusClient(db)
    client.create_collection("q", dimension=QUICK_DIM)
    client.insert("q", [quick_row(0, 1)])
    wal = sorted((Path(db) / "wal").glob("*.log"))[-1]
    _, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    outcome: dict[str, str] = {"0": "acked"}
    # The next record (~700 bytes) crosses the limit: the kernel writes 100 bytes of it.
    resource.setrlimit(resource.RLIMIT_FSIZE, (wal.stat().st_size + 100, hard))
    for pk in (1, 2):
        try:
            client.insert("q", [quick_row(pk, 1)])
            outcome[str(pk)] = "acked"
        except Exception as exc:  # noqa: BLE001 - record what the user saw
            outcome[str(pk)] = f"{type(exc).__name__}: {exc}"
    resource.setrlimit(resource.RLIMIT_FSIZE, (hard, hard))  # the disk has room again
    for pk in (3, 4):
        try:
            client.insert("q", [quick_row(pk, 1)])
            outcome[str(pk)] = "acked"
        except Exception as exc:  # noqa: BLE001
            outcome[str(pk)] = f"{type(exc).__name__}: {exc}"
    _write_json_durably(Path(out), outcome)
    _die()


def main(argv: list[str]) -> None:
    mode, db = argv[0], argv[1]
    if mode == "crash":
        run_crash(db, argv[2], int(argv[3]), int(argv[4]))
    elif mode == "populate":
        result = populate(db)
        _write_json_durably(Path(argv[2]), result["snapshot"])
        if argv[3] == "kill":
            _die()
        result["client"].close()
    elif mode == "hold":
        hold(db)
    elif mode == "try_open":
        try_open(db)
    elif mode == "short_write":
        short_write(db, argv[2])
    elif mode == "insert_then_die":
        insert_then_die(db, argv[2], int(argv[3]))
    else:
        raise SystemExit(f"unknown mode {mode!r}")


if __name__ == "__main__":
    main(sys.argv[1:])
