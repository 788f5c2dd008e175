"""Where the box keeps its data, and how a file gets there without ever being half written.

A file is written under ``tmp/``, fsynced, renamed into ``evidence/`` and the folder
fsynced; only then may the outbox row that names it commit. After a crash, ``tmp/`` holds
at most unfinished writes and ``evidence/`` at most files whose row never committed:
both are swept at start-up (``Outbox.recover``).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Layout:
    root: Path

    @property
    def database(self) -> Path:
        return self.root / "outbox.sqlite3"

    @property
    def evidence(self) -> Path:
        return self.root / "evidence"

    @property
    def tmp(self) -> Path:
        return self.root / "tmp"

    @property
    def models(self) -> Path:
        """Models downloaded by roll-out (``edge/rollout.py``); created on the first download."""
        return self.root / "models"

    def create(self) -> Layout:
        for folder in (self.root, self.evidence, self.tmp):
            folder.mkdir(parents=True, exist_ok=True)
        return self


def fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def place(layout: Layout, name: str, write: Callable[[Path], object]) -> Path:
    """Have ``write`` fill a temporary file, then make it durable as ``evidence/name``."""
    tmp = layout.tmp / name
    try:
        write(tmp)
        with open(tmp, "rb+") as handle:
            os.fsync(handle.fileno())
        final = layout.evidence / name
        os.replace(tmp, final)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync_dir(layout.evidence)
    return final


def place_bytes(layout: Layout, name: str, data: bytes) -> Path:
    return place(layout, name, lambda path: path.write_bytes(data))
