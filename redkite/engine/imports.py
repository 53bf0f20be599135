"""Bulk import jobs: JSON and Parquet files under the database directory, inserted in
batches through the normal insert path (validation, WAL durability and auto_id apply).

A job names a collection (and optionally a partition) and a list of file groups; for JSON
and Parquet each group is one file, given relative to the database directory (or as an
absolute path inside it). A path escaping the directory is refused when the job is created.
JSON files hold rows (``{"rows": [...]}`` or a bare list of row objects); Parquet files
hold one column per field (vector fields as lists of numbers, ``$meta`` as JSON text).

Jobs run one at a time on a background thread per job, in creation order: ``Pending``
until their turn, ``Importing`` while the files are read (every file is opened and its
rows counted first, so a missing or unreadable file fails the job before any row is
written) and the rows inserted, then ``Completed`` or ``Failed`` with a ``reason``. The rows
of the batches inserted before a failure stay (the reason says how many): unlike Milvus,
an import is not all-or-nothing. Progress is the share of rows inserted. Jobs live in
memory for the life of the open database (:func:`import_jobs`).
"""

from __future__ import annotations

import itertools
import json
import os
import re
import threading
import time
import weakref
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import pyarrow as pa
import pyarrow.parquet as pq

from ..columnar import ColumnBatch, arrow_type
from ..schema import DYNAMIC_FIELD
from ..errors import MilvusException, ParamError

BATCH_ROWS = 4096
FORMATS = (".json", ".parquet")
PENDING, IMPORTING, COMPLETED, FAILED = "Pending", "Importing", "Completed", "Failed"
_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h)?")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, None: 1.0}


class ImportFailed(MilvusException):
    """A job's file could not be read or its rows inserted (Milvus code 2100)."""

    default_code = 2100

    def __init__(self, message: str) -> None:
        super().__init__(message=message)


@dataclass
class ImportFile:
    """One file of a job: its path as given, resolved path, size and row counters."""

    name: str
    path: Path
    size: int = 0
    total_rows: int = 0
    imported_rows: int = 0
    state: str = PENDING
    reason: str = ""
    complete_time: float | None = None


@dataclass
class ImportJob:
    """One import job and its progress (read through :meth:`describe`)."""

    job_id: int
    db_name: str
    collection_name: str
    partition_name: str
    files: list[ImportFile]
    timeout: float | None
    state: str = PENDING
    reason: str = ""
    create_time: float = field(default_factory=time.time)
    complete_time: float | None = None

    @property
    def total_rows(self) -> int:
        return sum(f.total_rows for f in self.files)

    @property
    def imported_rows(self) -> int:
        return sum(f.imported_rows for f in self.files)

    @property
    def progress(self) -> int:
        """Percent done: 100 once Completed, else the share of rows inserted."""
        if self.state == COMPLETED:
            return 100
        total = self.total_rows
        return min(99, self.imported_rows * 100 // total) if total else 0

    def describe(self) -> dict:
        """The job as a plain dict (times as RFC 3339 UTC strings, "" when unset)."""
        return {
            "job_id": str(self.job_id), "db_name": self.db_name,
            "collection_name": self.collection_name, "partition_name": self.partition_name,
            "state": self.state, "progress": self.progress, "reason": self.reason,
            "imported_rows": self.imported_rows, "total_rows": self.total_rows,
            "file_size": sum(f.size for f in self.files),
            "create_time": _timestamp(self.create_time),
            "complete_time": _timestamp(self.complete_time),
            "details": [{"file_name": f.name, "file_size": f.size, "state": f.state,
                         "progress": 100 if f.state == COMPLETED else (
                             f.imported_rows * 100 // f.total_rows if f.total_rows else 0),
                         "imported_rows": f.imported_rows, "total_rows": f.total_rows,
                         "reason": f.reason, "complete_time": _timestamp(f.complete_time)}
                        for f in self.files],
        }


class ImportJobs:
    """The import jobs of one open :class:`~redkite.engine.database.Database`."""

    def __init__(self, db: Any) -> None:
        self._db = weakref.ref(db)
        self.root = Path(os.path.realpath(db.path))
        self._jobs: dict[int, ImportJob] = {}
        self._lock = threading.Lock()
        self._run_lock = threading.Lock()  # one job imports at a time
        self._ids = itertools.count(int(time.time() * 1000) << 18)

    # ---- public --------------------------------------------------------------------------
    def create(self, db_name: str | None, collection_name: str, files: list,
               partition_name: str = "", options: dict | None = None) -> str:
        """Validate and queue a job; its id (a decimal string). The collection, partition,
        file list, formats, paths and options are checked now; the files are read later."""
        db = self._database()
        meta = db._get(db_name, collection_name).meta
        if partition_name:
            db._partition_id(db._get(db_name, collection_name), partition_name)
        job = ImportJob(next(self._ids), db._db(db_name), meta.name, partition_name,
                        [self._import_file(group) for group in _groups(files)],
                        _timeout(options or {}))
        with self._lock:
            self._jobs[job.job_id] = job
        threading.Thread(target=self._run, args=(job,), daemon=True,
                         name=f"redkite-import-{job.job_id}").start()
        return str(job.job_id)

    def describe(self, job_id: Any) -> dict:
        """The job's state and counters (ParamError when no such job exists)."""
        return self._job(job_id).describe()

    def list(self, db_name: str | None, collection_name: str = "") -> list[dict]:
        """The jobs of a database (and collection), oldest first."""
        db = self._database()._db(db_name)
        with self._lock:
            jobs = [j for j in self._jobs.values() if j.db_name == db
                    and (not collection_name or j.collection_name == collection_name)]
        return [j.describe() for j in jobs]

    def wait(self, job_id: Any, timeout: float = 30.0) -> dict:
        """Block until the job is Completed or Failed (or ``timeout`` passes)."""
        deadline = time.monotonic() + timeout
        while True:
            info = self.describe(job_id)
            if info["state"] in (COMPLETED, FAILED) or time.monotonic() > deadline:
                return info
            time.sleep(0.02)

    # ---- checks --------------------------------------------------------------------------
    def _database(self) -> Any:
        db = self._db()
        if db is None:
            raise MilvusException(message="the database of these import jobs is closed")
        return db

    def _job(self, job_id: Any) -> ImportJob:
        try:
            key = int(job_id)
        except (TypeError, ValueError):
            raise ParamError(f"invalid import job id {job_id!r}: expected an integer") from None
        with self._lock:
            job = self._jobs.get(key)
        if job is None:
            raise ImportFailed(f"import job {job_id} not found")
        return job

    def _import_file(self, name: str) -> ImportFile:
        """The file ``name`` resolved inside the database directory (ParamError when it
        escapes it or has an unsupported format)."""
        if not isinstance(name, str) or not name:
            raise ParamError(f"an import file path must be a non-empty string, got {name!r}")
        resolved = Path(os.path.realpath(self.root / name))
        if resolved != self.root and self.root not in resolved.parents:
            raise ParamError(f"import file {name!r} is outside the database directory "
                             f"{self.root}: files must be placed under it")
        if resolved.suffix.lower() not in FORMATS:
            raise ParamError(f"import file {name!r} has an unsupported format: expected one "
                             f"of {list(FORMATS)} (row-based JSON or Parquet)")
        return ImportFile(name, resolved)

    # ---- the background run --------------------------------------------------------------
    def _run(self, job: ImportJob) -> None:
        with self._run_lock:
            deadline = None if job.timeout is None else time.monotonic() + job.timeout
            job.state = IMPORTING
            current: ImportFile | None = None
            try:
                schema = self._database().schema_of(job.db_name, job.collection_name)[0]
                for current in job.files:  # pre-import: open, check and count every file
                    current.size = current.path.stat().st_size
                    current.total_rows = _count_rows(current.path, schema)
                for current in job.files:
                    current.state = IMPORTING
                    self._import(job, current, deadline)
                    current.state, current.complete_time = COMPLETED, time.time()
                current = None
                job.state = COMPLETED
            except Exception as exc:  # noqa: BLE001 - every failure is the job's reason
                job.reason = _reason(job, current, exc)
                if current is not None:
                    current.state, current.reason = FAILED, job.reason
                job.state = FAILED
            job.complete_time = time.time()

    def _import(self, job: ImportJob, file: ImportFile, deadline: float | None) -> None:
        db = self._database()
        for batch in _batches(file.path, db.schema_of(job.db_name, job.collection_name)[0]):
            if deadline is not None and time.monotonic() > deadline:
                raise ImportFailed(f"the import timed out after {job.timeout:g}s")
            result = db.insert(job.db_name, job.collection_name, batch, job.partition_name)
            file.imported_rows += result["insert_count"]


def import_jobs(db: Any) -> ImportJobs:
    """The import jobs of ``db`` (created on first use, kept while ``db`` lives)."""
    with _REGISTRY_LOCK:
        jobs = _REGISTRY.get(db)
        if jobs is None:
            jobs = _REGISTRY[db] = ImportJobs(db)
        return jobs


_REGISTRY: "weakref.WeakKeyDictionary[Any, ImportJobs]" = weakref.WeakKeyDictionary()
_REGISTRY_LOCK = threading.Lock()


# ---- files -------------------------------------------------------------------------------
def _groups(files: Any) -> list[str]:
    """The file of each group (``[[path], ...]``; one file per group for JSON/Parquet)."""
    if not isinstance(files, list) or not files:
        raise ParamError(f"files must be a non-empty list of file groups, got {files!r}")
    names = []
    for group in files:
        if not isinstance(group, list) or len(group) != 1:
            raise ParamError(f"each file group must list exactly one JSON or Parquet file "
                             f"(several files per group are Numpy imports, which redkite "
                             f"does not read), got {group!r}")
        names.append(group[0])
    return names


def _read_json_rows(path: Path) -> list:
    with open(path, "rb") as handle:
        try:
            document = json.load(handle)
        except ValueError as exc:
            raise ImportFailed(f"{path.name} is not valid JSON: {exc}") from None
    rows = document.get("rows") if isinstance(document, dict) else document
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        raise ImportFailed(f"{path.name} must hold a list of row objects, or an object whose "
                           "'rows' key holds one")
    return rows


def _count_rows(path: Path, schema: Any) -> int:
    """The file's row count; a Parquet file's columns must be schema fields (or ``$meta``
    when the schema has dynamic fields)."""
    if path.suffix.lower() == ".json":
        return len(_read_json_rows(path))
    try:
        parquet = pq.ParquetFile(path)
    except (pa.ArrowException, OSError) as exc:
        raise ImportFailed(f"{path.name} is not a readable Parquet file: {exc}") from None
    known = {f.name for f in schema.fields} | ({DYNAMIC_FIELD} if schema.enable_dynamic_field
                                               else set())
    unknown = [name for name in parquet.schema_arrow.names if name not in known]
    if unknown:
        raise ImportFailed(f"{path.name} has column(s) {unknown} that are not fields of the "
                           f"collection (dynamic fields go in a `{DYNAMIC_FIELD}` column of "
                           "JSON objects)")
    return parquet.metadata.num_rows


def _batches(path: Path, schema: Any) -> Iterator[Any]:
    """The file's rows in batches of at most :data:`BATCH_ROWS` (JSON: row lists;
    Parquet: :class:`ColumnBatch` with vector columns cast to their stored layout)."""
    if path.suffix.lower() == ".json":
        rows = _read_json_rows(path)
        for start in range(0, len(rows), BATCH_ROWS):
            yield rows[start:start + BATCH_ROWS]
        return
    fields = {f.name: f for f in schema.fields}
    for record_batch in pq.ParquetFile(path).iter_batches(batch_size=BATCH_ROWS):
        columns = {name: _parquet_column(fields.get(name), name, column)
                   for name, column in zip(record_batch.schema.names, record_batch.columns)}
        yield ColumnBatch(columns, record_batch.num_rows)


def _parquet_column(fs: Any, name: str, column: pa.Array) -> pa.Array:
    """A Parquet column as the insert path takes it: vectors cast to their stored layout
    (lists of numbers of the field's dimension), other columns as read."""
    if fs is None or not fs.is_vector or column.type == arrow_type(fs):
        return column
    try:
        return column.cast(arrow_type(fs))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        raise ImportFailed(f"Parquet column `{name}` ({column.type}) cannot be read as the "
                           f"{fs.dtype.name} field `{name}` ({arrow_type(fs)}): {exc}") from None


def _timeout(options: dict) -> float | None:
    """The ``timeout`` option (``"300s"``, ``"5m"``, ``"1h"``, seconds when bare)."""
    unknown = sorted(set(options) - {"timeout"})
    if unknown:
        raise ParamError(f"unsupported import options {unknown}: redkite accepts 'timeout'")
    text = options.get("timeout")
    if text is None:
        return None
    match = _DURATION.fullmatch(str(text).strip())
    if match is None:
        raise ParamError(f"invalid import timeout {text!r}: expected e.g. '300s', '5m', '1h'")
    return float(match.group(1)) * _UNITS[match.group(2)]


def _reason(job: ImportJob, file: ImportFile | None, exc: Exception) -> str:
    message = exc.message if isinstance(exc, MilvusException) else (
        f"{type(exc).__name__}: {exc}")
    where = f"{file.name}: " if file is not None else ""
    done = job.imported_rows
    kept = f" ({done} rows were imported before the failure and remain)" if done else ""
    return f"{where}{message}{kept}"


def _timestamp(value: float | None) -> str:
    if value is None:
        return ""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(value))
