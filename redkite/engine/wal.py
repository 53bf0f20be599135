"""The write-ahead log: checksummed records, fsync before acknowledging, replay on open.

A log file is a sequence of records::

    u32 payload length | u32 crc32(payload) | u32 crc32(the 8 bytes before) | payload
    payload = u64 lsn | u8 kind | body

Files are named ``<first lsn, 20 digits>.log`` and replayed in name order. On open, a torn
tail (a last record cut short or with a bad checksum, as a crash during a write leaves it)
is truncated away — but only when no valid record follows it anywhere; otherwise (a bad
record with good data after it, a damaged length field, lsns out of order) the log is
corrupted and opening raises :class:`~redkite.errors.StorageCorruptedError`. A write that
fails is rolled back (the file truncated to where it started) and never acknowledged.
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

from ..errors import ErrorCode, MilvusException, StorageCorruptedError

_HEADER = struct.Struct("<III")
_HEADER_CHECKED = struct.Struct("<II")
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
        self._broken = False
        self._sync_error: str | None = None

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

    def append(self, lsn: int, kind: RecordKind, *body: bytes | memoryview) -> int:
        """Write one record (not yet durable); return the position to :meth:`sync` to."""
        if self._broken:
            raise MilvusException(ErrorCode.IO_FAILED, "the write-ahead log could not be "
                                  "repaired after a failed write; reopen the database")
        head = _PAYLOAD_HEAD.pack(lsn, int(kind))
        crc = zlib.crc32(head)
        for part in body:
            crc = zlib.crc32(part, crc)
        checked = _HEADER_CHECKED.pack(len(head) + sum(memoryview(p).nbytes for p in body), crc)
        parts = [checked + struct.pack("<I", zlib.crc32(checked)) + head, *body]
        assert self._file is not None, "log not open"
        size = self._write_all(parts)
        self.bytes_written += size
        self._appended_total += size
        return self._appended_total

    def _write_all(self, parts: list[bytes]) -> int:
        """Write ``parts`` back to back without joining them; return the byte count."""
        fd = self._file.fileno()
        start = self.bytes_written
        views = [memoryview(part).cast("B") for part in parts]
        total = sum(len(view) for view in views)
        try:
            while views:
                written = os.writev(fd, views)
                while views and written >= len(views[0]):
                    written -= len(views[0])
                    views.pop(0)
                if views and written:
                    views[0] = views[0][written:]
        except OSError as exc:
            try:
                os.ftruncate(fd, start)
                os.fsync(fd)
            except OSError:
                self._broken = True
            raise MilvusException(ErrorCode.IO_FAILED, f"writing the write-ahead log "
                                  f"{self._path} failed ({exc}); nothing was written") from None
        return total

    def sync(self, position: int) -> None:
        """Return once every record up to ``position`` is on disk (one fsync per group)."""
        with self._sync_done:
            while self._synced_total < position:
                self._raise_if_sync_failed()
                if not self._syncing:
                    break
                self._sync_done.wait()
            else:
                return
            self._syncing = True
            target = self._appended_total
            handle = self._file
        synced = False
        try:
            os.fsync(handle.fileno())
            synced = True
        except OSError as exc:
            # After a failed fsync the kernel may have dropped the dirty pages: nothing
            # after the last good sync can be called durable, now or by a later fsync.
            self._sync_error = f"fsync of {self._path} failed ({exc})"
            self._broken = True
        finally:
            with self._sync_done:
                self._syncing = False
                if synced:
                    self._synced_total = max(self._synced_total, target)
                self._sync_done.notify_all()
        with self._sync_done:
            self._raise_if_sync_failed()

    def _raise_if_sync_failed(self) -> None:
        if self._sync_error is not None:
            raise MilvusException(ErrorCode.IO_FAILED, f"{self._sync_error}: the write may "
                                  "not be durable; reopen the database")

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
    last_lsn = -1
    while offset < len(data):
        record, end = _parse_record(data, offset)
        if record is None or record.lsn <= last_lsn:
            _handle_bad_record(path, data, offset, is_last)
            return
        last_lsn = record.lsn
        yield record
        offset = end


def _parse_record(data: bytes, offset: int) -> tuple[WalRecord | None, int]:
    start = offset + _HEADER.size
    if start > len(data):
        return None, len(data)
    length, crc, header_crc = _HEADER.unpack_from(data, offset)
    if zlib.crc32(data[offset:offset + _HEADER_CHECKED.size]) != header_crc:
        return None, start
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


def _valid_record_after(data: bytes, offset: int) -> int | None:
    """The offset of a whole, valid record starting after ``offset``, if any."""
    for candidate in range(offset + 1, len(data) - _HEADER.size + 1):
        record, _ = _parse_record(data, candidate)
        if record is not None:
            return candidate
    return None


def _handle_bad_record(path: Path, data: bytes, offset: int, is_last: bool) -> None:
    """A bad last record is a torn write (truncated away); anything else is corruption."""
    later = _valid_record_after(data, offset)
    if is_last and later is None:
        with open(path, "r+b") as handle:
            handle.truncate(offset)
            os.fsync(handle.fileno())
        return
    where = f"a valid record follows at byte {later}" if later is not None else \
        "it is not the newest log file"
    raise StorageCorruptedError(
        f"write-ahead log {path} is corrupted at byte {offset} (bad checksum, length or "
        f"sequence; {where}); refusing to open the database rather than silently dropping "
        "data")
