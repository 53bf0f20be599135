"""The write-ahead log: checksummed records, fsync before acknowledging, replay on open.

A log file is a sequence of records::

    u32 payload length | u32 crc32(payload) | payload
    payload = u64 lsn | u8 kind | body

Files are named ``<first lsn, 20 digits>.log`` and replayed in name order. On open, a torn
tail (a last record cut short or with a bad checksum, as a crash during a write leaves it)
is truncated away; a bad record followed by more data is corruption and raises
:class:`~redkite.errors.StorageCorruptedError`.
"""

from __future__ import annotations

import os
import struct
import threading
import zlib
from dataclasses import dataclass
from enum import IntEnum
from pathlib import Path
from typing import Iterator

from ..errors import StorageCorruptedError

_HEADER = struct.Struct("<II")
_PAYLOAD_HEAD = struct.Struct("<QB")
MAX_RECORD_BYTES = 1 << 31


class RecordKind(IntEnum):
    INSERT = 1
    DELETE = 2
    UPSERT = 3
    RESERVE_IDS = 4


@dataclass(frozen=True)
class WalRecord:
    lsn: int
    kind: RecordKind
    body: bytes


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class WriteAheadLog:
    """Appends records to the newest log file, with group commit.

    :meth:`append` runs under the engine's write lock and only writes; :meth:`sync` runs
    after the lock is released and fsyncs up to a position, so writers that queued up
    while one fsync was in flight are covered by the next single fsync.
    """

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        self._file = None
        self._path: Path | None = None
        self.bytes_written = 0
        self._appended_total = 0  # bytes appended since open, across files
        self._synced_total = 0
        self._syncing = False
        self._sync_done = threading.Condition()

    def files(self) -> list[Path]:
        return sorted(self.directory.glob("*.log"))

    def replay(self) -> Iterator[WalRecord]:
        """Yield every whole record of every log file, repairing a torn tail in the last."""
        files = self.files()
        for position, path in enumerate(files):
            yield from _read_file(path, is_last=position == len(files) - 1)

    def open_for_append(self, next_lsn: int) -> None:
        files = self.files()
        path = files[-1] if files else self.directory / f"{next_lsn:020d}.log"
        self._open(path)

    def _open(self, path: Path) -> None:
        self.close()
        self._file = open(path, "ab", buffering=0)
        self._path = path
        self.bytes_written = path.stat().st_size
        fsync_dir(self.directory)

    def append(self, lsn: int, kind: RecordKind, body: bytes) -> int:
        """Write one record (not yet durable); return the position to :meth:`sync` to."""
        payload = _PAYLOAD_HEAD.pack(lsn, int(kind)) + body
        header = _HEADER.pack(len(payload), zlib.crc32(payload))
        assert self._file is not None, "log not open"
        self._file.write(header + payload)
        self.bytes_written += len(header) + len(payload)
        self._appended_total += len(header) + len(payload)
        return self._appended_total

    def sync(self, position: int) -> None:
        """Return once every record up to ``position`` is on disk (one fsync per group)."""
        with self._sync_done:
            while self._synced_total < position:
                if not self._syncing:
                    break
                self._sync_done.wait()
            else:
                return
            self._syncing = True
            target = self._appended_total
            handle = self._file
        try:
            os.fsync(handle.fileno())
        finally:
            with self._sync_done:
                self._syncing = False
                self._synced_total = max(self._synced_total, target)
                self._sync_done.notify_all()

    def _mark_all_durable(self) -> None:
        with self._sync_done:
            while self._syncing:
                self._sync_done.wait()
            if self._file is not None:
                os.fsync(self._file.fileno())
            self._synced_total = self._appended_total
            self._sync_done.notify_all()

    def rotate(self, next_lsn: int) -> None:
        """Start a new file at ``next_lsn`` and delete the older ones (all checkpointed)."""
        self._mark_all_durable()
        old = self.files()
        self._open(self.directory / f"{next_lsn:020d}.log")
        for path in old:
            if path != self._path:
                path.unlink()
        fsync_dir(self.directory)

    def close(self) -> None:
        if self._file is not None:
            self._mark_all_durable()
            self._file.close()
            self._file = None


def _read_file(path: Path, is_last: bool) -> Iterator[WalRecord]:
    data = path.read_bytes()
    offset = 0
    while offset < len(data):
        record, end = _parse_record(data, offset)
        if record is None:
            _handle_bad_record(path, data, offset, end, is_last)
            return
        yield record
        offset = end


def _parse_record(data: bytes, offset: int) -> tuple[WalRecord | None, int]:
    if offset + _HEADER.size > len(data):
        return None, len(data)
    length, crc = _HEADER.unpack_from(data, offset)
    start = offset + _HEADER.size
    end = start + length
    if length < _PAYLOAD_HEAD.size or length > MAX_RECORD_BYTES or end > len(data):
        return None, len(data)
    payload = data[start:end]
    if zlib.crc32(payload) != crc:
        return None, end
    lsn, kind = _PAYLOAD_HEAD.unpack_from(payload)
    try:
        record_kind = RecordKind(kind)
    except ValueError:
        return None, end
    return WalRecord(lsn, record_kind, payload[_PAYLOAD_HEAD.size:]), end


def _handle_bad_record(path: Path, data: bytes, offset: int, end: int, is_last: bool) -> None:
    """A bad record at the very end of the last file is a torn write; elsewhere, corruption."""
    if is_last and end >= len(data):
        with open(path, "r+b") as handle:
            handle.truncate(offset)
            os.fsync(handle.fileno())
        return
    raise StorageCorruptedError(
        f"write-ahead log {path} is corrupted at byte {offset} (bad checksum or length, with "
        f"{len(data) - offset} bytes after it); refusing to open the database rather than "
        "silently dropping data")
