"""Evidence and model files in an S3-compatible bucket (AWS S3, MinIO, Ceph RGW …), through boto3.

An upload streams from the spool file the collector has already measured and hashed. Up to
``multipart_threshold`` (64 MiB, so every evidence file) it is one PutObject carrying the
file's SHA-256, which the store checks against the bytes it received; above it (large model
files) s3transfer sends a multipart upload with a SHA-256 per part, retries a failed part and
aborts the upload when it fails. Either way no partial object ever becomes visible. The file's
SHA-256 is also kept as the object's metadata ``sha256`` (``stat`` reads it back), so that
``migrate-blobs`` can tell a finished copy from a missing one. Downloads are ranged GetObjects.

The client computes checksums only where an operation requires one or where it is asked to
(``when_required``): boto3's default, a CRC32 trailer on every upload, is refused by several
S3-compatible stores.
"""

from __future__ import annotations

import base64
import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, NamedTuple
from urllib.parse import urlsplit

import boto3
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from binwatch.collector.blobs import CHUNK, SWEEP_AFTER_S, ChecksumMismatch, check_key
from binwatch.collector.errors import Unavailable
from binwatch.collector.settings import Settings

MiB = 1024 * 1024
NOT_FOUND = {"404", "NoSuchKey", "NotFound"}
CHECKSUM_REFUSED = {"BadDigest", "XAmzContentChecksumMismatch", "XAmzContentSHA256Mismatch"}

log = logging.getLogger(__name__)


class Stat(NamedTuple):
    size: int
    sha256: str | None  # None for an object written by something other than this store


def parse_url(url: str) -> tuple[str, str]:
    """``s3://bucket/some/prefix`` → (``bucket``, ``some/prefix``)."""
    parts = urlsplit(url)
    if parts.scheme != "s3" or not parts.netloc or parts.query or parts.fragment:
        raise ValueError(f"{url!r}: expected s3://bucket or s3://bucket/prefix")
    prefix = parts.path.strip("/")
    if prefix:
        check_key(prefix)
    return parts.netloc, prefix


class S3BlobStore:
    """Blobs as the objects ``<prefix>/<key>`` of one bucket."""

    def __init__(
        self,
        bucket: str,
        prefix: str = "",
        *,
        endpoint_url: str | None = None,
        region: str | None = None,
        access_key_id: str | None = None,
        secret_access_key: str | None = None,
        addressing_style: str = "auto",
        multipart_threshold: int = 64 * MiB,
        part_size: int = 16 * MiB,
    ):
        self.bucket = bucket
        self.prefix = f"{prefix.strip('/')}/" if prefix.strip("/") else ""
        self.multipart_threshold = multipart_threshold
        # A boto3 client is thread-safe (a Session is not): one per store, shared by the worker's threads.
        session = boto3.session.Session(
            aws_access_key_id=access_key_id, aws_secret_access_key=secret_access_key, region_name=region
        )
        self.client = session.client(
            "s3",
            endpoint_url=endpoint_url,
            config=Config(
                s3={"addressing_style": addressing_style},
                retries={"mode": "standard", "max_attempts": 4},
                max_pool_connections=64,  # the worker's thread pools run up to 40 + 36 blocking calls
                connect_timeout=5,
                read_timeout=60,
                request_checksum_calculation="when_required",
                response_checksum_validation="when_required",
            ),
        )
        self.transfer = TransferConfig(
            multipart_threshold=multipart_threshold, multipart_chunksize=part_size, max_concurrency=4
        )

    @classmethod
    def from_settings(cls, settings: Settings) -> S3BlobStore:
        if not settings.blob_store:
            raise ValueError("BLOB_STORE names no bucket")
        bucket, prefix = parse_url(settings.blob_store)
        secret = settings.s3_secret_access_key
        return cls(
            bucket,
            prefix,
            endpoint_url=settings.s3_endpoint_url,
            region=settings.s3_region,
            access_key_id=settings.s3_access_key_id,
            secret_access_key=secret.get_secret_value() if secret else None,
            addressing_style=settings.s3_addressing_style,
        )

    def _name(self, key: str) -> str:
        return self.prefix + check_key(key)

    @contextmanager
    def _failures(self, what: str, key: str) -> Iterator[None]:
        """The client's errors as the collector's: ``FileNotFoundError`` for a missing object, 503 for
        the API otherwise, with a plain message for the CLI."""
        try:
            yield
        except ClientError as exc:
            error = exc.response.get("Error", {})
            code, message = error.get("Code", "?"), error.get("Message", "")
            if code in NOT_FOUND:
                raise FileNotFoundError(f"no blob {key} in s3://{self.bucket}/{self.prefix}") from None
            if code in CHECKSUM_REFUSED:
                raise ChecksumMismatch(f"{key}: the object store refused the bytes: {code} {message}") from exc
            raise Unavailable(f"object store s3://{self.bucket}: {what} {key}: {code} {message}".rstrip()) from exc
        except BotoCoreError as exc:
            raise Unavailable(f"object store s3://{self.bucket}: {what} {key}: {exc}") from exc

    def put(self, key: str, source: IO[bytes], sha256: str) -> None:
        name = self._name(key)
        start = source.tell()
        size = source.seek(0, os.SEEK_END) - start
        source.seek(start)
        metadata = {"sha256": sha256.lower()}
        with self._failures("storing", key):
            if size <= self.multipart_threshold:
                self.client.put_object(
                    Bucket=self.bucket,
                    Key=name,
                    Body=source,
                    ContentLength=size,
                    ChecksumSHA256=base64.b64encode(bytes.fromhex(sha256)).decode(),
                    Metadata=metadata,
                )
            else:
                self.client.upload_fileobj(
                    source,
                    self.bucket,
                    name,
                    ExtraArgs={"ChecksumAlgorithm": "SHA256", "Metadata": metadata},
                    Config=self.transfer,
                )

    def stat(self, key: str) -> Stat | None:
        """Size and SHA-256 (from the metadata) of ``key``, or None when there is no such object."""
        try:
            with self._failures("reading", key):
                head = self.client.head_object(Bucket=self.bucket, Key=self._name(key))
        except FileNotFoundError:
            return None
        return Stat(head["ContentLength"], head.get("Metadata", {}).get("sha256"))

    def size(self, key: str) -> int | None:
        found = self.stat(key)
        return found.size if found else None

    def read(self, key: str, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        extra = {"Range": f"bytes={start}-{'' if end is None else end}"} if start or end is not None else {}
        with self._failures("reading", key):
            body = self.client.get_object(Bucket=self.bucket, Key=self._name(key), **extra)["Body"]
        try:
            with self._failures("reading", key):
                yield from body.iter_chunks(CHUNK)
        finally:
            body.close()

    def delete(self, key: str) -> None:
        with self._failures("deleting", key):
            self.client.delete_object(Bucket=self.bucket, Key=self._name(key))

    def local_path(self, key: str) -> Path | None:
        return None

    def sweep(self, older_than_s: float = SWEEP_AFTER_S) -> int:
        """Abort the multipart uploads under the prefix that a killed process left open: the bucket
        keeps (and bills) their parts until then. Only old ones: another worker may be uploading."""
        cutoff = datetime.now(UTC) - timedelta(seconds=older_than_s)
        aborted = 0
        with self._failures("sweeping", self.prefix or "/"):
            pages = self.client.get_paginator("list_multipart_uploads").paginate(Bucket=self.bucket, Prefix=self.prefix)
            for page in pages:
                for upload in page.get("Uploads", []):
                    if upload["Initiated"] < cutoff:
                        self.client.abort_multipart_upload(
                            Bucket=self.bucket, Key=upload["Key"], UploadId=upload["UploadId"]
                        )
                        aborted += 1
        if aborted:
            log.warning("aborted %d unfinished multipart uploads under s3://%s/%s", aborted, self.bucket, self.prefix)
        return aborted
