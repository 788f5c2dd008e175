"""Where evidence files and model files are kept: a small key/value interface for blobs.

The collector only calls the methods of ``BlobStore``. ``LocalBlobStore`` keeps blobs as files
under the data folder; ``binwatch.collector.s3.S3BlobStore`` keeps them in an S3-compatible
bucket. ``open_store`` builds the one the settings name, wherever a store is needed.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import tempfile
import time
from collections.abc import Iterator
from contextlib import suppress
from pathlib import Path
from typing import IO, TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from binwatch.collector.settings import Settings

TEMP_PREFIX = ".upload-"  # a ``put`` in progress, never a key; left behind only when its process was killed
KEY_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*(/[A-Za-z0-9][A-Za-z0-9._-]*)*$")
CHUNK = 256 * 1024
SWEEP_AFTER_S = 3600.0  # a ``put`` copies a verified local file: older than this, it was killed

log = logging.getLogger(__name__)


class BadKey(ValueError):
    """A blob key that could name something outside the store (``..``, absolute, odd characters)."""


class ChecksumMismatch(ValueError):
    """The bytes a store received are not the ones whose SHA-256 the caller verified; nothing was stored."""


def is_key(key: str) -> bool:
    return bool(KEY_PATTERN.match(key)) and not any(part in {".", ".."} for part in key.split("/")) and len(key) <= 512


def check_key(key: str) -> str:
    if not is_key(key):
        raise BadKey(f"bad blob key {key!r}")
    return key


class BlobStore(Protocol):
    def put(self, key: str, source: IO[bytes], sha256: str) -> None:
        """Store ``source`` (read from its current position) under ``key``, replacing atomically. ``sha256``
        is the hex digest of those bytes, already verified by the caller: the store checks what it
        received against it and raises ``ChecksumMismatch`` (storing nothing) when they differ."""

    def size(self, key: str) -> int | None:
        """Bytes stored under ``key``, or None when there is no such blob."""

    def read(self, key: str, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        """The bytes ``start`` to ``end`` inclusive (to the last byte when ``end`` is None)."""

    def delete(self, key: str) -> None:
        """Remove ``key``; no error when it is absent."""

    def local_path(self, key: str) -> Path | None:
        """The file on this machine that holds ``key``, so that it can be served as a file; None
        for a store without local files, whose blobs are served through ``read``."""

    def sweep(self, older_than_s: float = SWEEP_AFTER_S) -> int:
        """Remove what ``put`` calls of killed processes left half-written, if older than
        ``older_than_s``; returns how many."""


class LocalBlobStore:
    """Blobs as files under ``root``; a write goes to a temporary file, is synced, then renamed."""

    def __init__(self, root: Path):
        self.root = Path(root).resolve()
        self.root.mkdir(parents=True, exist_ok=True)

    def _path(self, key: str) -> Path:
        path = (self.root / check_key(key)).resolve()
        if self.root not in path.parents:
            raise BadKey(f"bad blob key {key!r}")
        return path

    def put(self, key: str, source: IO[bytes], sha256: str) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=TEMP_PREFIX)
        try:
            digest = hashlib.sha256()
            with os.fdopen(fd, "wb") as out:
                while chunk := source.read(CHUNK):
                    digest.update(chunk)
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
            if digest.hexdigest() != sha256.lower():
                raise ChecksumMismatch(f"{key}: SHA-256 of the bytes written is {digest.hexdigest()}, not {sha256}")
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def size(self, key: str) -> int | None:
        try:
            return self._path(key).stat().st_size
        except FileNotFoundError:
            return None

    def read(self, key: str, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        with self._path(key).open("rb") as f:
            f.seek(start)
            remaining = None if end is None else end - start + 1
            while remaining is None or remaining > 0:
                chunk = f.read(CHUNK if remaining is None else min(CHUNK, remaining))
                if not chunk:
                    return
                if remaining is not None:
                    remaining -= len(chunk)
                yield chunk

    def delete(self, key: str) -> None:
        path = self._path(key)
        path.unlink(missing_ok=True)
        with suppress(OSError):  # the folder of the key, once empty, so that retention leaves no empty folders
            path.parent.rmdir()

    def local_path(self, key: str) -> Path:
        return self._path(key)

    def sweep(self, older_than_s: float = SWEEP_AFTER_S) -> int:
        """Delete the temporary files of ``put`` calls that were killed; returns how many.

        Only old ones: another worker may be writing its own right now.
        """
        cutoff, swept = time.time() - older_than_s, 0
        for path in self.root.rglob(TEMP_PREFIX + "*"):
            try:
                if path.is_file() and path.stat().st_mtime < cutoff:
                    path.unlink()
                    swept += 1
            except FileNotFoundError:  # another worker swept it first
                continue
        if swept:
            log.warning("removed %d unfinished uploads left by a killed process under %s", swept, self.root)
        return swept

    def keys(self) -> Iterator[str]:
        """Every key stored, in order; files being written and names that are not keys are left out."""
        for folder, subfolders, files in os.walk(self.root):
            subfolders.sort()
            for name in sorted(files):
                key = Path(folder, name).relative_to(self.root).as_posix()
                if is_key(key):
                    yield key


def open_store(settings: Settings) -> BlobStore:
    """The store the settings name: ``BLOB_STORE=s3://bucket/prefix``, else the files under ``DATA_DIR/blobs``."""
    if settings.blob_store:
        from binwatch.collector.s3 import S3BlobStore

        return S3BlobStore.from_settings(settings)
    return LocalBlobStore(settings.blob_dir)
