"""Moving a local blob store into a bucket (``binwatch collector migrate-blobs``), losing and doubling nothing.

Each file is copied under its own key, so a key is never stored twice. A copy is one
PutObject (a multipart upload above 64 MiB) carrying the file's SHA-256, which the bucket
either completes or never shows: a run killed at any moment leaves every key copied whole or
not at all. An object already in the bucket with the file's size and SHA-256 (its metadata)
is not sent again, so a second run, or one after a kill, copies only what is missing.

With ``remove_local`` a file is deleted from the local store only after its copy has been read
back (HeadObject) with the same size and SHA-256. Finally the files the database refers to (uploaded,
unexpired evidence and every model version) are looked for in the bucket, so that the report
says whether the bucket now holds everything the service will ask it for.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field

from sqlalchemy import select

from binwatch.collector.blobs import ChecksumMismatch, LocalBlobStore
from binwatch.collector.db.engine import Database
from binwatch.collector.db.tables import EvidenceFile, ModelVersion
from binwatch.collector.errors import CollectorError
from binwatch.collector.evidence import evidence_key
from binwatch.collector.registry import model_key
from binwatch.collector.s3 import S3BlobStore, Stat

PROGRESS_EVERY = 100
GIVE_UP_AFTER = 100  # failed copies: the bucket is unreachable or refuses, no use going through every file


@dataclass
class Migration:
    copied: int = 0
    already: int = 0  # in the bucket before this run, with the same size and SHA-256
    vanished: int = 0  # deleted from the local store while the run went on (retention)
    bytes_copied: int = 0
    removed: int = 0
    failed: dict[str, str] = field(default_factory=dict)  # key -> why
    in_bucket: set[str] = field(default_factory=set)
    missing: list[str] = field(default_factory=list)  # referenced by the database, found in neither store
    gave_up: bool = False  # stopped after GIVE_UP_AFTER failures; a later run goes on

    def line(self) -> str:
        return (
            f"{self.copied} copied ({self.bytes_copied / 2**20:.1f} MiB), {self.already} already in the bucket, "
            f"{self.removed} removed locally, {self.vanished} vanished, {len(self.failed)} failed"
            + (" (gave up: run it again once the bucket answers)" if self.gave_up else "")
        )


def migrate_blobs(
    source: LocalBlobStore,
    target: S3BlobStore,
    *,
    jobs: int = 8,
    remove_local: bool = False,
    progress: Callable[[Migration], None] | None = None,
    give_up_after: int = GIVE_UP_AFTER,
) -> Migration:
    """Copy every key of ``source`` into ``target``, ``jobs`` at a time, until ``give_up_after`` copies failed."""
    report = Migration()
    done = 0

    def settle(future: Future, key: str) -> None:
        nonlocal done
        try:
            outcome, size, removed = future.result()
        except FileNotFoundError:
            report.vanished += 1
        except (CollectorError, ChecksumMismatch, OSError) as exc:
            report.failed[key] = str(exc)
        else:
            report.in_bucket.add(key)
            report.removed += removed
            if outcome == "copied":
                report.copied += 1
                report.bytes_copied += size
            else:
                report.already += 1
        done += 1
        if progress is not None and done % PROGRESS_EVERY == 0:
            progress(report)

    with ThreadPoolExecutor(jobs, thread_name_prefix="migrate-blobs") as pool:
        for future, key in _bounded(pool, source.keys(), lambda key: _copy(source, target, key, remove_local), jobs):
            settle(future, key)
            if len(report.failed) >= give_up_after:
                report.gave_up = True
                break  # the copies still running finish; what they did, the next run finds
    return report


def _bounded(pool: ThreadPoolExecutor, keys: Iterable[str], work, jobs: int) -> Iterator[tuple[Future, str]]:
    """``work(key)`` for every key, at most ``2 * jobs`` submitted at a time; yields each as it finishes."""
    pending: dict[Future, str] = {}
    keys = iter(keys)
    while True:
        for key in keys:
            pending[pool.submit(work, key)] = key
            if len(pending) >= 2 * jobs:
                break
        if not pending:
            return
        finished, _ = wait(pending, return_when=FIRST_COMPLETED)
        for future in finished:
            yield future, pending.pop(future)


def _copy(source: LocalBlobStore, target: S3BlobStore, key: str, remove_local: bool) -> tuple[str, int, int]:
    """Copy one file unless the bucket holds it already; ("copied" or "already", its size, 1 if removed)."""
    with source.local_path(key).open("rb") as f:
        sha256 = hashlib.file_digest(f, "sha256").hexdigest()
        wanted = Stat(f.tell(), sha256)
        outcome = "already"
        if target.stat(key) != wanted:
            f.seek(0)
            target.put(key, f, sha256)
            outcome = "copied"
    if remove_local:
        if outcome == "copied" and target.stat(key) != wanted:
            raise ChecksumMismatch(f"{key}: the bucket's copy differs from the file; the file is kept")
        source.delete(key)
    return outcome, wanted.size, int(remove_local)


def check_references(db: Database, target: S3BlobStore, report: Migration) -> None:
    """Fill ``report.missing`` with the keys the database refers to that the bucket lacks."""
    with db.read() as session:
        evidence = session.execute(
            select(EvidenceFile.event_id, EvidenceFile.kind).where(
                EvidenceFile.uploaded_at.is_not(None), EvidenceFile.expired_at.is_(None)
            )
        )
        keys = [evidence_key(event_id, kind) for event_id, kind in evidence]
        keys += [model_key(version) for version in session.scalars(select(ModelVersion.version))]
    report.missing = [key for key in keys if key not in report.in_bucket and target.stat(key) is None]
