"""Durability of the embedded database: what survives a crash, what is refused, who may open.

Everything here uses real files and real processes (``tests/crash_worker.py``): a writer is
killed with SIGKILL, files are damaged by hand the way disks and crashes damage them, and
the database is reopened. A damaged database must be *refused* with
:class:`~redkite.StorageCorruptedError` naming the file, and refusing must not modify it.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import select
import signal
import struct
import subprocess
import sys
import time
import zlib
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
import crash_worker as W  # noqa: E402

from redkite import (  # noqa: E402
    DatabaseLockedError, MilvusClient, MilvusException, StorageCorruptedError,
)

WORKER = str(Path(__file__).resolve().parent / "crash_worker.py")
WAL_HEADER = struct.Struct("<III")  # u32 length | u32 crc32(payload) | u32 crc32(8 bytes)


# ---- helpers ----------------------------------------------------------------------------------
def run_worker(*args, timeout: float = 60) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(W.REPO))
    return subprocess.run([sys.executable, WORKER, *map(str, args)], capture_output=True,
                          text=True, timeout=timeout, env=env)


def files_snapshot(db: Path) -> dict[str, tuple[int, str]]:
    """Every file of the database but LOCK: size and sha256 (to prove nothing was changed).

    Empty directories are left out: a refused open may create ``segments/<id>/``.
    """
    out = {}
    for path in sorted(db.rglob("*")):
        if path.is_file() and path.name != "LOCK":
            data = path.read_bytes()
            out[str(path.relative_to(db))] = (len(data), hashlib.sha256(data).hexdigest())
    return out


def wal_files(db: Path) -> list[Path]:
    return sorted((db / "wal").glob("*.log"))


def wal_records(path: Path) -> list[tuple[int, int]]:
    """(offset, total length) of every record of a WAL file (the documented layout)."""
    data = path.read_bytes()
    records, offset = [], 0
    while offset + WAL_HEADER.size <= len(data):
        length, crc, _header_crc = WAL_HEADER.unpack_from(data, offset)
        end = offset + WAL_HEADER.size + length
        assert end <= len(data) and zlib.crc32(data[offset + WAL_HEADER.size:end]) == crc, "test setup: bad WAL"
        records.append((offset, end - offset))
        offset = end
    assert offset == len(data)
    return records


def newest_wal_with_records(db: Path) -> Path:
    candidates = [p for p in wal_files(db) if p.stat().st_size > 0]
    assert candidates, f"no WAL records in {db}"
    return candidates[-1]


def killed_writer(tmp_path: Path, count: int = 6) -> tuple[Path, dict]:
    """A database whose last writer died (SIGKILL) after ``count`` acknowledged inserts."""
    db = tmp_path / "app.db"
    out = tmp_path / "acked.json"
    proc = run_worker("insert_then_die", db, out, count)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    return db, json.loads(out.read_text())


def present_pks(client, collection: str, pks: list[int]) -> set[int]:
    pk_name = "id"
    return {row[pk_name] for row in client.get(collection, pks, output_fields=[pk_name])}


def flip_byte(path: Path, offset: int, mask: int = 0x01) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= mask
    path.write_bytes(bytes(data))


def assert_refused(db: Path, *must_name: str) -> StorageCorruptedError:
    """Opening ``db`` raises StorageCorruptedError naming ``must_name`` and changes no file."""
    before = files_snapshot(db)
    for _ in range(2):  # and it stays refused: the first attempt did not "repair" anything
        with pytest.raises(StorageCorruptedError) as info:
            MilvusClient(str(db))
        assert isinstance(info.value, MilvusException)
        assert info.value.code == 1001
        for text in must_name:
            assert text in str(info.value), f"{text!r} not in {info.value}"
        assert files_snapshot(db) == before, "a refused open modified the database files"
    # Refusing released the lock: another process is not told the database is in use.
    probe = json.loads(run_worker("try_open", db).stdout)
    assert probe["ok"] is False and probe["type"] == "StorageCorruptedError", probe
    return info.value


# ---- reopen preserves everything --------------------------------------------------------------
def _expected_full_rows() -> dict[int, dict]:
    live = (set(range(40)) | set(range(100, 130)) | set(range(200, 220))) - {
        1, 2, 3, 101, 200, 201, 5}
    versions = {4: 9, 102: 9}
    rows = {}
    for pk in live:
        row = W.full_row(pk, versions.get(pk, 0))
        row.setdefault("n", None)
        row.setdefault("dv", "dflt")
        rows[pk] = row
    return rows


@pytest.mark.parametrize("end", ["close", "kill"])
def test_reopen_preserves_everything(tmp_path, end):
    """Types, partitions, indexes, load state, aliases, dynamic fields, deletes, upserts."""
    db, out = tmp_path / "app.db", tmp_path / "snapshot.json"
    proc = run_worker("populate", db, out, end)
    assert proc.returncode == (0 if end == "close" else -signal.SIGKILL), proc.stderr
    before = json.loads(out.read_text())
    for attempt in range(2):  # the second reopen follows a clean close of the first
        client = MilvusClient(str(db))
        try:
            after = W.describe_everything(client)
            rows = {row["pk"]: row for row in after["full_rows"]}
        finally:
            client.close()
        assert after == before, f"reopen #{attempt + 1} after {end} changed the database"
        assert rows == _expected_full_rows()
        assert after["rows__default"] == sorted(set(range(40)) - {1, 2, 3, 5})
        assert after["rows_p1"] == sorted(set(range(100, 130)) - {101})
        assert after["rows_p2"] == list(range(202, 220))
        assert after["full_load"] == 3 and after["quick_load"] == 1  # Loaded / NotLoad
        assert after["aliases"] == ["full_alias", "other_alias"]
        assert after["full_indexes"] == ["v_idx"]
        assert after["full_index_desc"]["metric_type"] == "IP"
        assert after["quick_count"] == 7 and len(after["quick_rows"]) == 7
        assert after["databases"] == ["default", "other"] and len(after["other_rows"]) == 1
        assert after["parts_load"] == {"_default": 1, "p1": 3, "p2": 1}
        assert after["parts_p1_rows"] == [1]
        assert after["trunc_rows"] == [100] and after["again_rows"] == [7]
        assert after["full_partitions"] == ["_default", "p1", "p2"]  # p3 was dropped


# ---- torn WAL tail ----------------------------------------------------------------------------
TORN_TAILS = ["cut_last_record", "cut_inside_last_header", "append_garbage",
              "append_partial_header", "append_header_only", "append_zeros"]


@pytest.mark.parametrize("damage", TORN_TAILS)
def test_torn_wal_tail_is_cut_and_whole_records_kept(tmp_path, damage):
    db, acked = killed_writer(tmp_path)
    wal = newest_wal_with_records(db)
    records = wal_records(wal)
    size = wal.stat().st_size
    last_offset, last_length = records[-1]
    rng = random.Random(damage)
    # The worker's last WAL record is the insert of the last auto-id row.
    lost_auto = []
    with open(wal, "r+b") as handle:
        if damage == "cut_last_record":
            handle.truncate(last_offset + last_length // 2)
            lost_auto = acked["auto_ids"][-1:]
        elif damage == "cut_inside_last_header":
            handle.truncate(last_offset + 5)
            lost_auto = acked["auto_ids"][-1:]
        else:
            handle.seek(0, os.SEEK_END)
            handle.write({
                "append_garbage": bytes(rng.randrange(256) for _ in range(37)),
                "append_partial_header": b"\x10\x00\x00",
                "append_header_only": WAL_HEADER.pack(500, 12345, 678),
                "append_zeros": bytes(4096),
            }[damage])
    whole_bytes = last_offset if lost_auto else size

    client = MilvusClient(str(db))
    try:
        assert present_pks(client, "q", acked["acked"]) == set(acked["acked"])
        kept_auto = [i for i in acked["auto_ids"] if i not in lost_auto]
        assert present_pks(client, "auto", acked["auto_ids"]) == set(kept_auto)
        assert client.query("q", output_fields=["count(*)"])[0]["count(*)"] == len(acked["acked"])
        assert client.query("auto", output_fields=["count(*)"])[0]["count(*)"] == len(kept_auto)
        assert wal.stat().st_size == whole_bytes, "the torn tail was not cut back to whole records"
        # Writing after the repair works and survives a crash-free reopen.
        new = client.insert("auto", [{"vector": W.quick_vector(1, 1)}] * 3)["ids"]
        assert not set(new) & set(acked["auto_ids"]), "auto ids reused after a torn tail"
        client.insert("q", [W.quick_row(7, 7)])
    finally:
        client.close()
    client = MilvusClient(str(db))
    try:
        assert present_pks(client, "auto", new) == set(new)
        assert present_pks(client, "q", [7, *acked["acked"]]) == {7, *acked["acked"]}
    finally:
        client.close()


# ---- corruption is refused, never silently repaired -------------------------------------------
@pytest.mark.parametrize("where", ["payload", "crc", "kind_byte"])
def test_wal_corruption_followed_by_records_is_refused(tmp_path, where):
    db, _ = killed_writer(tmp_path)
    wal = newest_wal_with_records(db)
    records = wal_records(wal)
    assert len(records) >= 4
    offset, length = records[1]
    position = {"payload": offset + 8 + length // 2, "crc": offset + 5,
                "kind_byte": offset + 8 + 8}[where]
    flip_byte(wal, position)
    assert_refused(db, str(wal))


@pytest.mark.parametrize("mask", [0x01, 0x80])
def test_wal_corrupted_length_field_is_refused_not_truncated(tmp_path, mask):
    """A flipped bit in a *middle* record's length field must not pass for a torn tail.

    Today the record then claims to run past the end of the file, the reader takes it for a
    torn write, truncates the log there and opens: every later acknowledged record is gone.
    """
    db, acked = killed_writer(tmp_path)
    wal = newest_wal_with_records(db)
    offset, _ = wal_records(wal)[1]
    flip_byte(wal, offset + 3, mask)  # high byte of the length: claims > 16 MB
    try:
        client = MilvusClient(str(db))
    except StorageCorruptedError as exc:
        assert str(wal) in str(exc)
        return
    try:
        present = present_pks(client, "q", acked["acked"])
    finally:
        client.close()
    pytest.fail(f"corrupted WAL opened without error; acknowledged rows now present: "
                f"{len(present)}/{len(acked['acked'])}")


def _closed_db_with_segments(tmp_path: Path) -> Path:
    db = tmp_path / "app.db"
    client = MilvusClient(str(db))
    client.create_collection("q", dimension=W.QUICK_DIM)
    client.insert("q", [W.quick_row(pk, 1) for pk in range(50)])
    client.flush("q")
    client.delete("q", ids=[1, 2, 3])
    client.close()
    return db


def test_missing_manifest_with_segments_is_refused(tmp_path):
    db = _closed_db_with_segments(tmp_path)
    (db / "MANIFEST").unlink()
    assert_refused(db, "MANIFEST")


def test_missing_manifest_with_only_wal_is_refused(tmp_path):
    db, _ = killed_writer(tmp_path)
    (db / "MANIFEST").unlink()
    assert_refused(db, "MANIFEST")


@pytest.mark.parametrize("damage", ["flip_body", "flip_checksum", "truncate", "empty"])
def test_damaged_manifest_is_refused(tmp_path, damage):
    db = _closed_db_with_segments(tmp_path)
    manifest = db / "MANIFEST"
    data = manifest.read_bytes()
    newline = data.index(b"\n")
    if damage == "flip_body":
        flip_byte(manifest, newline + 1 + (len(data) - newline) // 2, 0x04)
    elif damage == "flip_checksum":
        flip_byte(manifest, newline - 1, 0x01)
    elif damage == "truncate":
        manifest.write_bytes(data[: newline + (len(data) - newline) // 2])
    else:
        manifest.write_bytes(b"")
    assert_refused(db, "MANIFEST")


@pytest.mark.parametrize("damage", ["flip_data", "truncate_data", "extend_data",
                                    "missing_data", "flip_delete_mask"])
def test_damaged_segment_file_is_refused(tmp_path, damage):
    db = _closed_db_with_segments(tmp_path)
    seg_dir = next((db / "segments").iterdir())
    data_file = next(seg_dir.glob("*.arrow"))
    delete_file = next(seg_dir.glob("*.del.*"))
    target = data_file
    if damage == "flip_data":
        flip_byte(data_file, data_file.stat().st_size // 2)
    elif damage == "truncate_data":
        with open(data_file, "r+b") as handle:
            handle.truncate(data_file.stat().st_size - 8)
    elif damage == "extend_data":
        with open(data_file, "ab") as handle:
            handle.write(b"\0" * 8)
    elif damage == "missing_data":
        data_file.unlink()
    else:
        flip_byte(delete_file, 0, 0x02)
        target = delete_file
    assert_refused(db, str(target))


# ---- failures while writing -------------------------------------------------------------------
def test_failed_first_open_leaves_an_openable_database(tmp_path):
    """If creating a new database fails (or the process dies) before its first MANIFEST is
    written, the directory must still open (as a new database) once the cause is gone.

    ``MANIFEST.tmp`` is made a directory so writing the first manifest fails for real. Today
    ``wal/`` is created before the first MANIFEST, and a directory with ``wal/`` but no
    MANIFEST is refused forever as "missing MANIFEST" although it never held data.
    """
    db = tmp_path / "app.db"
    db.mkdir()
    (db / "MANIFEST.tmp").mkdir()
    with pytest.raises(Exception):
        MilvusClient(str(db))
    (db / "MANIFEST.tmp").rmdir()
    client = MilvusClient(str(db))
    try:
        client.create_collection("q", dimension=W.QUICK_DIM)
        client.insert("q", [W.quick_row(1, 1)])
        assert client.get_collection_stats("q")["row_count"] == 1
    finally:
        client.close()


def test_wal_write_failure_never_acknowledges_lost_rows(tmp_path):
    """A real write failure (file size limit) in the middle of a WAL append.

    The user must either get an error, or the row must survive; and once the disk has room
    again the database must keep working and reopen with every acknowledged row. Today a
    short ``write()`` is ignored (the insert is acknowledged with half its record on disk)
    and the half record stays in the log, so later appends land behind garbage.
    """
    db, out = tmp_path / "app.db", tmp_path / "outcome.json"
    proc = run_worker("short_write", db, out)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    outcome = json.loads(out.read_text())
    acked = sorted(int(pk) for pk, what in outcome.items() if what == "acked")
    assert {0, 3, 4} <= set(acked), f"inserts failed after the limit was lifted: {outcome}"
    try:
        client = MilvusClient(str(db))
    except StorageCorruptedError as exc:
        pytest.fail(f"database unopenable after a failed WAL append ({outcome}): {exc}")
    try:
        present = present_pks(client, "q", [0, 1, 2, 3, 4])
    finally:
        client.close()
    assert set(acked) <= present, f"acknowledged rows lost: outcome={outcome} present={present}"


def test_a_failed_fsync_is_never_acknowledged(tmp_path, monkeypatch):
    """fsync failing (EIO) cannot be caused for real without a faulty device, so the WAL's
    fsync is replaced for one call. After a failed fsync the kernel may have dropped the
    dirty pages: the insert must raise, and so must every later write (a later successful
    fsync proves nothing about the lost pages), until the database is reopened."""
    from redkite.engine import wal as wal_module
    path = str(tmp_path / "d.db")
    client = MilvusClient(path)
    client.create_collection("c", dimension=4)
    client.insert("c", [{"id": 1, "vector": [1.0, 0, 0, 0]}])
    real_fsync, calls = os.fsync, []

    def failing_fsync(fd):
        calls.append(fd)
        if len(calls) == 1:
            raise OSError(5, "Input/output error")
        return real_fsync(fd)

    monkeypatch.setattr(wal_module.os, "fsync", failing_fsync)
    with pytest.raises(MilvusException, match="fsync .* failed"):
        client.insert("c", [{"id": 2, "vector": [0, 1.0, 0, 0]}])
    with pytest.raises(MilvusException, match="reopen the database"):
        client.insert("c", [{"id": 3, "vector": [0, 0, 1.0, 0]}])
    monkeypatch.setattr(wal_module.os, "fsync", real_fsync)
    try:
        client.close()
    except MilvusException:
        pass
    with MilvusClient(path) as reopened:
        assert 1 in present_pks(reopened, "c", [1, 2, 3])


# ---- auto ids ---------------------------------------------------------------------------------
def test_auto_ids_unique_across_failed_insert_and_restarts(tmp_path):
    db = tmp_path / "app.db"
    seen: list[int] = []

    def insert_ok(client, n):
        ids = client.insert("auto", [{"vector": W.quick_vector(i, 0)} for i in range(n)])["ids"]
        assert len(ids) == n and len(set(ids)) == n
        assert not set(ids) & set(seen), "auto id reused"
        seen.extend(ids)
        return ids

    client = MilvusClient(str(db))
    client.create_collection("auto", dimension=W.QUICK_DIM, auto_id=True)
    insert_ok(client, 5)
    bad = [{"vector": W.quick_vector(1, 0)}, {"vector": [1.0, 2.0]}]  # wrong dimension
    with pytest.raises(MilvusException):
        client.insert("auto", bad)
    insert_ok(client, 5)
    assert client.get_collection_stats("auto")["row_count"] == 10  # nothing of the bad batch
    client.close()
    client = MilvusClient(str(db))
    insert_ok(client, 70_000)  # crosses an id reservation block
    client.close()
    # The next process dies without closing; ids it handed out are never handed out again.
    out = tmp_path / "acked.json"
    proc = run_worker("insert_then_die", db, out, 3)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    died = json.loads(out.read_text())["auto_ids"]
    assert not set(died) & set(seen)
    seen.extend(died)
    client = MilvusClient(str(db))
    try:
        insert_ok(client, 5)
        assert client.get_collection_stats("auto")["row_count"] == len(seen)
    finally:
        client.close()


# ---- who may open a database ------------------------------------------------------------------
def test_second_process_gets_locked_error_naming_holder(tmp_path):
    db = tmp_path / "app.db"
    client = MilvusClient(str(db))
    client.create_collection("q", dimension=W.QUICK_DIM)
    try:
        probe = json.loads(run_worker("try_open", db).stdout)
        assert probe["ok"] is False and probe["type"] == "DatabaseLockedError", probe
        assert probe["milvus"] is True
        assert f"pid {os.getpid()}" in probe["message"], probe["message"]
    finally:
        client.close()
    probe = json.loads(run_worker("try_open", db).stdout)
    assert probe == {"ok": True, "collections": ["q"]}


def test_lock_of_a_killed_holder_is_released(tmp_path):
    db = tmp_path / "app.db"
    env = dict(os.environ, PYTHONPATH=str(W.REPO))
    holder = subprocess.Popen([sys.executable, WORKER, "hold", str(db)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        line = holder.stdout.readline()
        assert line.startswith("READY"), holder.stderr.read()
        with pytest.raises(DatabaseLockedError) as info:
            MilvusClient(str(db))
        assert isinstance(info.value, MilvusException)
        assert f"pid {holder.pid}" in str(info.value)
    finally:
        holder.kill()
        holder.wait(timeout=10)
    client = MilvusClient(str(db))  # the flock died with its holder; the stale LOCK text is moot
    client.close()


def test_forked_child_does_not_share_the_parents_open_database(tmp_path):
    """A child made by fork() (multiprocessing's default on Linux) is a second process.

    It must get DatabaseLockedError, not the parent's in-memory Database through the
    inherited registry (both would append to the same WAL and the child's acknowledged rows
    vanish when the parent checkpoints).
    """
    db = tmp_path / "app.db"
    client = MilvusClient(str(db))
    client.create_collection("q", dimension=W.QUICK_DIM)
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: report what happened, never return into pytest
        try:
            os.close(read_end)
            try:
                MilvusClient(str(db))
                message = {"type": "opened"}
            except BaseException as exc:  # noqa: BLE001
                message = {"type": type(exc).__name__, "message": str(exc)}
            os.write(write_end, json.dumps(message).encode())
        finally:
            os._exit(0)
    os.close(write_end)
    try:
        ready, _, _ = select.select([read_end], [], [], 30)
        message = json.loads(os.read(read_end, 65536).decode() or "{}") if ready else {
            "type": "child hung"}
    finally:
        os.close(read_end)
        if not ready:
            os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    client.close()
    assert message.get("type") == "DatabaseLockedError", message


def test_two_clients_in_one_process_share_data(tmp_path):
    db = tmp_path / "app.db"
    first = MilvusClient(str(db))
    second = MilvusClient(os.path.join(str(tmp_path), ".", "app.db"))  # same path, other spelling
    first.create_collection("q", dimension=W.QUICK_DIM)
    first.insert("q", [W.quick_row(1, 1)])
    assert second.get("q", [1])[0]["note"] == "pk1-v1"
    second.insert("q", [W.quick_row(2, 1)])
    assert first.get_collection_stats("q")["row_count"] == 2
    first.close()
    second.insert("q", [W.quick_row(3, 1)])  # closing one client leaves the other working
    assert second.get_collection_stats("q")["row_count"] == 3
    probe = json.loads(run_worker("try_open", db).stdout)
    assert probe["ok"] is False and probe["type"] == "DatabaseLockedError"
    second.close()
    with pytest.raises(MilvusException):
        second.insert("q", [W.quick_row(4, 1)])
    third = MilvusClient(str(db))
    try:
        assert sorted(r["id"] for r in third.query("q", filter="", limit=10)) == [1, 2, 3]
    finally:
        third.close()


def test_reopen_in_the_same_process_after_close_sees_everything(tmp_path):
    db = tmp_path / "app.db"
    for round_number in range(3):
        client = MilvusClient(str(db))
        if round_number == 0:
            client.create_collection("q", dimension=W.QUICK_DIM)
        base = round_number * 100
        client.insert("q", [W.quick_row(base + i, round_number) for i in range(10)])
        client.delete("q", ids=[base])
        client.close()
    start = time.monotonic()
    client = MilvusClient(str(db))
    try:
        rows = client.query("q", filter="", limit=100, output_fields=["*"])
        assert sorted(r["id"] for r in rows) == sorted(
            b + i for b in (0, 100, 200) for i in range(1, 10))
        assert all(r["vector"] == W.quick_vector(r["id"], r["ver"]) for r in rows)
    finally:
        client.close()
    assert time.monotonic() - start < 10
