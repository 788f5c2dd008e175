"""Uploads land in a temporary file, measured and hashed on the way in, before anything is stored."""

from __future__ import annotations

import hashlib
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import IO

from binwatch.collector.errors import TooLarge

MEMORY_LIMIT = 1024 * 1024


@dataclass
class Spooled:
    file: IO[bytes]
    size: int
    sha256: str
    head: bytes

    def rewind(self) -> IO[bytes]:
        self.file.seek(0)
        return self.file

    def close(self) -> None:
        self.file.close()


class _Digest:
    def __init__(self, limit: int):
        self.file = tempfile.SpooledTemporaryFile(max_size=MEMORY_LIMIT)  # noqa: SIM115 - handed on in Spooled
        self.hash = hashlib.sha256()
        self.size = 0
        self.head = b""
        self.limit = limit

    def add(self, chunk: bytes) -> None:
        self.size += len(chunk)
        if self.size > self.limit:
            self.file.close()
            raise TooLarge(f"upload is larger than the limit of {self.limit} bytes")
        if len(self.head) < 16:
            self.head = (self.head + chunk)[:16]
        self.hash.update(chunk)
        self.file.write(chunk)

    def done(self) -> Spooled:
        self.file.seek(0)
        return Spooled(self.file, self.size, self.hash.hexdigest(), self.head)


async def spool_stream(chunks: AsyncIterator[bytes], limit: int) -> Spooled:
    digest = _Digest(limit)
    async for chunk in chunks:
        if chunk:
            digest.add(chunk)
    return digest.done()


def measure_file(source: IO[bytes], limit: int) -> Spooled:
    """Size, SHA-256 and first bytes of a seekable file that is already on disk, without copying it."""
    digest, size, head = hashlib.sha256(), 0, b""
    source.seek(0)
    while chunk := source.read(256 * 1024):
        size += len(chunk)
        if size > limit:
            raise TooLarge(f"file is larger than the limit of {limit} bytes")
        head = head or chunk[:16]
        digest.update(chunk)
    source.seek(0)
    return Spooled(source, size, digest.hexdigest(), head)
