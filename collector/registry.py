"""The model registry: ONNX files with their version, metrics and SHA-256, and which one is current.

Making a version current appends an activation; a rollback marks the newest activation as
rolled back, so the version current before it is current again. Rollbacks walk back
through the history one step at a time, like an undo stack.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from binwatch.collector.blobs import BlobStore
from binwatch.collector.db.engine import Database
from binwatch.collector.db.tables import ModelActivation, ModelVersion, User, utcnow
from binwatch.collector.errors import Conflict, Invalid, NotFound, UnsupportedMedia
from binwatch.collector.names import ModelVersionName, checked
from binwatch.collector.spool import Spooled, measure_file

# A serialised ONNX ModelProto starts with field 1 (ir_version, a varint): the byte 0x08.
ONNX_FIRST_BYTE = 0x08
MAX_METRICS_CHARS = 64 * 1024
MAX_METRICS_DEPTH = 32  # Pydantic refuses to serialise past 255 levels: stored, every list of the models was a 500


@dataclass(frozen=True)
class Listed:
    version: ModelVersion
    current: bool


def model_key(version: str) -> str:
    return f"models/{checked(ModelVersionName, version, 'model version')}.onnx"


def parse_metrics(text: str) -> dict:
    """Metrics arrive as a JSON object (a string in a form field); anything else is refused.

    They are stored and shown as JSON, so they must be what JSON can carry: Python's parser also
    reads a lone surrogate (``"\\ud800"``), which UTF-8 cannot encode, and ``1e999``, which is
    infinity. Stored, either made every later list of the models a 500, as did nesting past 255 levels;
    nesting deep enough to exhaust the parser's recursion was a 500 at once."""
    if len(text) > MAX_METRICS_CHARS:
        raise Invalid(f"metrics are longer than {MAX_METRICS_CHARS} characters")
    try:
        metrics = json.loads(text, parse_constant=_no_constant, parse_float=_finite)
        json.dumps(metrics, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        raise Invalid("metrics hold a lone surrogate (such as \\ud800), which UTF-8 cannot encode") from None
    except (json.JSONDecodeError, ValueError) as exc:
        raise Invalid(f"metrics are not valid JSON: {exc}") from None
    except RecursionError:
        raise Invalid("metrics are nested too deeply") from None
    if not isinstance(metrics, dict):
        raise Invalid("metrics must be a JSON object")
    if _nesting(metrics) > MAX_METRICS_DEPTH:
        raise Invalid("metrics are nested too deeply")
    return metrics


def _nesting(value: object) -> int:
    """How deep objects and lists nest in ``value``, level by level (no recursion: the parser may have read
    hundreds of levels)."""
    depth, level = 0, [value]
    while containers := [x for x in level if isinstance(x, dict | list)]:
        depth += 1
        level = [v for x in containers for v in (x.values() if isinstance(x, dict) else x)]
    return depth


def _no_constant(name: str):
    raise ValueError(f"{name} is not allowed in metrics")


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text[:20]} is too large a number for metrics")
    return value


def add_version(
    db: Database,
    store: BlobStore,
    *,
    version: str,
    upload: Spooled,
    sha256: str,
    metrics: dict,
    user: User | None = None,
) -> tuple[ModelVersion, bool]:
    """Register a model file after checking its SHA-256; the same file again is a no-op (False).

    A version's file is written once. The row is inserted first, and the file is written while
    the insert is still uncommitted: a second upload of the version, from any worker, waits on
    the row's key until the first commits, then finds it (200 for the same file, 409 for
    another) without writing a byte. If the file cannot be stored, the row is rolled back.
    """
    key = model_key(version)
    sha256 = sha256.lower()
    if upload.sha256 != sha256:
        raise Invalid(f"SHA-256 of the file is {upload.sha256}, not the declared {sha256}")
    if not upload.head or upload.head[0] != ONNX_FIRST_BYTE:
        raise UnsupportedMedia("not an ONNX file (a serialised ModelProto starts with ir_version)")
    with db.read() as session:
        existing = session.get(ModelVersion, version)
        if existing is not None:
            return _same_file(existing, sha256), False
    try:
        with db.write() as session:
            if (existing := session.get(ModelVersion, version)) is not None:
                return _same_file(existing, sha256), False
            row = ModelVersion(
                version=version,
                sha256=sha256,
                size=upload.size,
                metrics=metrics,
                uploaded_at=utcnow(),
                uploaded_by=user.id if user else None,
            )
            session.add(row)
            session.flush()  # claims the version: a concurrent insert of it blocks here until this commits
            store.put(key, upload.rewind(), sha256)
            return row, True
    except IntegrityError:
        with db.read() as session:
            existing = session.get(ModelVersion, version)
        if existing is None:
            raise
        return _same_file(existing, sha256), False


def _same_file(existing: ModelVersion, sha256: str) -> ModelVersion:
    if existing.sha256 != sha256:
        raise Conflict(f"model version {existing.version} exists with another file")
    return existing


def register_file(
    db: Database,
    store: BlobStore,
    path: Path,
    *,
    version: str,
    metrics: dict | None = None,
    sha256: str | None = None,
    make_current_now: bool = False,
    max_bytes: int = 2**40,
) -> tuple[ModelVersion, bool]:
    """Register the ONNX file at ``path`` (checked against ``sha256`` when given), for the CLI and the demo."""
    with path.open("rb") as f:
        upload = measure_file(f, max_bytes)
        row, created = add_version(
            db, store, version=version, upload=upload, sha256=sha256 or upload.sha256, metrics=metrics or {}
        )
    if make_current_now:
        with db.write() as session:
            make_current(session, row.version)
    return row, created


def current(session: Session) -> ModelVersion | None:
    activation = _newest_activation(session)
    return session.get(ModelVersion, activation.version) if activation else None


def list_versions(session: Session) -> list[Listed]:
    now = current(session)
    versions = session.scalars(select(ModelVersion).order_by(ModelVersion.uploaded_at.desc(), ModelVersion.version))
    return [Listed(v, now is not None and v.version == now.version) for v in versions]


def get_version(session: Session, version: str) -> ModelVersion:
    row = session.get(ModelVersion, version)
    if row is None:
        raise NotFound(f"no model version {version}")
    return row


def make_current(session: Session, version: str, user: User | None = None) -> ModelVersion:
    row = get_version(session, version)
    now = current(session)
    if now is None or now.version != version:
        session.add(ModelActivation(version=version, activated_at=utcnow(), activated_by=user.id if user else None))
        session.flush()
    return row


def roll_back(session: Session) -> ModelVersion:
    """Go back to the version that was current before the current one."""
    newest = _newest_activation(session)
    if newest is None:
        raise Conflict("no model version is current")
    newest.rolled_back = True
    session.flush()
    previous = _newest_activation(session)  # never the same version: make_current does not repeat the top
    if previous is None:
        newest.rolled_back = False
        session.flush()
        raise Conflict("there is no earlier model version to roll back to")
    return session.get_one(ModelVersion, previous.version)


def _newest_activation(session: Session) -> ModelActivation | None:
    return session.scalar(
        select(ModelActivation)
        .where(ModelActivation.rolled_back.is_(False))
        .order_by(ModelActivation.id.desc())
        .limit(1)
        .with_for_update()
    )
