"""Event ids that a re-run of a video file gives again.

A live camera's events get random ids (UUID 4): a moment is seen once. A video file is read
from its first frame again when the agent restarts, and would yield every disposal again
under a new id, which the collector would then count twice. So for a file the id is derived
(UUID 5) from the device, the file, how its frames are dated, the bin, and the frame the
disposal started on: a re-run concludes each disposal under the id it had, the outbox
recognises it, and the collector dedupes what reaches it twice.

The file is identified by its size and the SHA-256 of its first MiB, which a copy or a
``touch`` does not change and which costs one read of a MiB at start.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

NAMESPACE = uuid.UUID("81b3da4a-6d53-4e54-93a8-4217084ee423")  # binwatch's, for UUID 5 event ids
HEAD_BYTES = 2**20


def file_identity(path: Path) -> str:
    """The file's size and the SHA-256 of its first MiB."""
    with path.open("rb") as f:
        head = f.read(HEAD_BYTES)
    return f"{path.stat().st_size}:{hashlib.sha256(head).hexdigest()}"


@dataclass(frozen=True)
class FileEventIds:
    """``ids(bin_id, started_at)``: the id of the disposal at ``bin_id`` that started on the frame dated
    ``started_at``, for the frames of one file dated from ``start`` at ``fps``."""

    namespace: uuid.UUID
    start: datetime
    fps: float

    @classmethod
    def of(cls, path: Path, device_id: str, start: datetime, fps: float) -> FileEventIds:
        name = f"{device_id}\n{file_identity(path)}\n{start.isoformat()}\n{fps!r}"
        return cls(uuid.uuid5(NAMESPACE, name), start, fps)

    def __call__(self, bin_id: str, started_at: datetime) -> uuid.UUID:
        frame = round((started_at - self.start).total_seconds() * self.fps)
        return uuid.uuid5(self.namespace, f"{bin_id}\n{frame}")
