"""The manifest: the catalog plus the list of sealed segments, replaced atomically.

File layout: one line ``redkite-manifest v1 <crc32 of the body, hex>`` followed by the JSON
body. It is written to ``MANIFEST.tmp``, fsynced, renamed over ``MANIFEST`` and the
directory fsynced, so a crash leaves either the old or the new manifest, never a mix.
"""

from __future__ import annotations

import json
import os
import zlib
from pathlib import Path

from ...errors import StorageCorruptedError
from ..wal import fsync_dir

MANIFEST = "MANIFEST"
_MAGIC = "redkite-manifest v1"


def write_manifest(directory: Path, body: dict) -> None:
    text = json.dumps(body, sort_keys=True, separators=(",", ":"))
    payload = f"{_MAGIC} {zlib.crc32(text.encode()):08x}\n{text}".encode()
    tmp = directory / (MANIFEST + ".tmp")
    with open(tmp, "wb") as handle:
        handle.write(payload)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, directory / MANIFEST)
    fsync_dir(directory)


def read_manifest(directory: Path) -> dict | None:
    """The manifest body, None for a new database; raise if it is damaged or missing."""
    path = directory / MANIFEST
    if not path.exists():
        if (directory / "wal").exists() or (directory / "segments").exists():
            raise StorageCorruptedError(
                f"{path} is missing but the database holds data (wal/ or segments/); "
                "refusing to open it as empty")
        return None
    raw = path.read_bytes().decode("utf-8", errors="replace")
    head, _, text = raw.partition("\n")
    parts = head.split(" ")
    if len(parts) != 3 or " ".join(parts[:2]) != _MAGIC:
        raise StorageCorruptedError(f"{path} is not a redkite manifest (bad header)")
    if f"{zlib.crc32(text.encode()):08x}" != parts[2]:
        raise StorageCorruptedError(f"{path} fails its checksum (corrupted)")
    return json.loads(text)
