"""Where evidence files and model files are kept: a small key/value interface for blobs.

The collector only calls the methods of ``BlobStore``; ``LocalBlobStore`` keeps blobs as
files under the data folder. An S3-compatible store would map ``put`` to PutObject (from the
verified temporary file), ``size`` to HeadObject, ``read`` to a ranged GetObject and
``delete`` to DeleteObject, and its ``local_path`` would be None.
"""

from __future__ import annotations

import logging
import os
import re
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Protocol

KEY_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*(/[A-Za-z0-9][A-Za-z0-9._-]*)*$")
CHUNK = 256 * 1024
UPLOAD_PREFIX = ".upload-"  # a ``put`` in progress; left behind only when its process was killed
SWEEP_AFTER_S = 3600.0  # a ``put`` copies a verified local file: older than this, it was killed

log = logging.getLogger(__name__)


class BadKey(ValueError):
    """A blob key that could name something outside the store (``..``, absolute, odd characters)."""


def check_key(key: str) -> str:
    if not KEY_PATTERN.match(key) or any(part in {".", ".."} for part in key.split("/")) or len(key) > 512:
        raise BadKey(f"bad blob key {key!r}")
    return key


class BlobStore(Protocol):
    def put(self, key: str, source: IO[bytes]) -> None:
        """Store ``source`` (read from its current position) under ``key``, replacing atomically."""

    def size(self, key: str) -> int | None:
        """Bytes stored under ``key``, or None when there is no such blob."""

    def read(self, key: str, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        """The bytes ``start`` to ``end`` inclusive (to the last byte when ``end`` is None)."""

    def delete(self, key: str) -> None:
        """Remove ``key``; no error when it is absent."""

    def local_path(self, key: str) -> Path | None:
        """The file on this machine that holds ``key``, so that it can be served as a file; None
        for a store without local files, whose blobs are served through ``read``."""


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

    def put(self, key: str, source: IO[bytes]) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=UPLOAD_PREFIX)
        try:
            with os.fdopen(fd, "wb") as out:
                while chunk := source.read(CHUNK):
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
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
        self._path(key).unlink(missing_ok=True)

    def local_path(self, key: str) -> Path:
        return self._path(key)

    def sweep(self, older_than_s: float = SWEEP_AFTER_S) -> int:
        """Delete the temporary files of ``put`` calls that were killed; returns how many.

        Only old ones: another worker may be writing its own right now.
        """
        cutoff, swept = time.time() - older_than_s, 0
        for path in self.root.rglob(UPLOAD_PREFIX + "*"):
            try:
                if path.is_file() and path.stat().st_mtime < cutoff:
                    path.unlink()
                    swept += 1
            except FileNotFoundError:  # another worker swept it first
                continue
        if swept:
            log.warning("removed %d unfinished uploads left by a killed process under %s", swept, self.root)
        return swept
