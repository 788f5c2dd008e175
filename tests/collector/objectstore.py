"""An S3 endpoint for the tests: moto's server mode on loopback, spoken to over HTTP like any S3 store.

moto keeps its buckets in the memory of the process that runs the server, so each test takes
a bucket of its own (``S3Bucket.create``). Credentials are required by boto3's signing and
ignored by moto.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from typing import Any

import boto3
from moto.server import ThreadedMotoServer

S3_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "binwatch-test",
    "AWS_SECRET_ACCESS_KEY": "binwatch-test-secret",
    "AWS_DEFAULT_REGION": "us-east-1",
}


def s3_server() -> ThreadedMotoServer:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    return server


def s3_url(server: ThreadedMotoServer) -> str:
    host, port = server.get_host_and_port()
    return f"http://{host}:{port}"


@dataclass(frozen=True)
class S3Bucket:
    endpoint: str
    name: str
    client: Any  # a boto3 S3 client of the test's own, to look into the bucket

    @classmethod
    def create(cls, endpoint: str) -> S3Bucket:
        client = boto3.client(
            "s3",
            endpoint_url=endpoint,
            region_name=S3_CREDENTIALS["AWS_DEFAULT_REGION"],
            aws_access_key_id=S3_CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=S3_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        )
        name = f"binwatch-{uuid.uuid4().hex[:16]}"
        client.create_bucket(Bucket=name)
        return cls(endpoint, name, client)

    def url(self, prefix: str = "city") -> str:
        return f"s3://{self.name}/{prefix}"

    def settings(self, prefix: str = "city") -> dict[str, str]:
        """Collector settings (keyword arguments) that keep blobs under ``prefix`` in this bucket."""
        return {"blob_store": self.url(prefix), "s3_endpoint_url": self.endpoint, "s3_addressing_style": "path"}

    def environment(self, prefix: str = "city") -> dict[str, str]:
        """The same as ``BINWATCH_COLLECTOR_*`` variables, with credentials, for a collector in another process."""
        return {
            **S3_CREDENTIALS,
            **{f"BINWATCH_COLLECTOR_{name.upper()}": value for name, value in self.settings(prefix).items()},
        }

    def objects(self, prefix: str = "city") -> dict[str, int]:
        """Every object under ``prefix``: its key (without the prefix) and size."""
        found = {}
        for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=self.name, Prefix=f"{prefix}/"):
            for item in page.get("Contents", []):
                found[item["Key"][len(prefix) + 1 :]] = item["Size"]
        return found

    def get(self, key: str, prefix: str = "city") -> bytes:
        return self.client.get_object(Bucket=self.name, Key=f"{prefix}/{key}")["Body"].read()

    def sha256(self, key: str, prefix: str = "city") -> str:
        return hashlib.sha256(self.get(key, prefix)).hexdigest()

    def metadata(self, key: str, prefix: str = "city") -> dict[str, str]:
        return self.client.head_object(Bucket=self.name, Key=f"{prefix}/{key}")["Metadata"]
