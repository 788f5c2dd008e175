"""The S3 blob store against a real S3 HTTP endpoint (moto's server on loopback), alone and under the collector."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile

import pytest
from fastapi.testclient import TestClient

from binwatch.cli import main
from binwatch.collector.app import create_app
from binwatch.collector.blobs import BadKey, LocalBlobStore, open_store
from binwatch.collector.errors import Unavailable
from binwatch.collector.s3 import S3BlobStore, Stat, parse_url
from binwatch.collector.settings import Settings
from tests.collector.objectstore import S3Bucket
from tests.collector.support import World, clip, jpeg, make_event, provision, sha

MiB = 1024 * 1024


def store_in(bucket: S3Bucket, prefix: str = "city", **options) -> S3BlobStore:
    return S3BlobStore(bucket.name, prefix, endpoint_url=bucket.endpoint, addressing_style="path", **options)


def test_put_read_ranges_delete_under_a_prefix(bucket):
    store = store_in(bucket)
    data = clip(300_000, seed=1)
    store.put("evidence/ab/e1/clip", io.BytesIO(data), sha(data))
    assert store.stat("evidence/ab/e1/clip") == Stat(len(data), sha(data))
    assert store.size("evidence/ab/e1/clip") == len(data) and store.local_path("evidence/ab/e1/clip") is None
    assert b"".join(store.read("evidence/ab/e1/clip")) == data
    assert b"".join(store.read("evidence/ab/e1/clip", 1000, 299_999)) == data[1000:]
    assert b"".join(store.read("evidence/ab/e1/clip", 299_990)) == data[299_990:]
    assert b"".join(store.read("evidence/ab/e1/clip", 0, 0)) == data[:1]
    empty = io.BytesIO(b"")
    store.put("evidence/ab/e1/crop", empty, sha(b""))
    assert store.size("evidence/ab/e1/crop") == 0 and b"".join(store.read("evidence/ab/e1/crop")) == b""
    assert bucket.objects() == {"evidence/ab/e1/clip": len(data), "evidence/ab/e1/crop": 0}
    assert bucket.metadata("evidence/ab/e1/clip") == {"sha256": sha(data)}
    assert store_in(bucket, "elsewhere").size("evidence/ab/e1/clip") is None  # another prefix is another store
    store.delete("evidence/ab/e1/clip")
    store.delete("evidence/ab/e1/clip")  # absent: no error
    assert store.size("evidence/ab/e1/clip") is None and store.stat("evidence/ab/e1/clip") is None
    with pytest.raises(FileNotFoundError):
        b"".join(store.read("evidence/ab/e1/clip"))
    for key in ("../x", "/etc/passwd", "a//b", ".upload-1"):
        with pytest.raises(BadKey):
            store.put(key, io.BytesIO(b"x"), sha(b"x"))


def test_a_source_read_from_its_position(bucket):
    store = store_in(bucket)
    source = io.BytesIO(b"HEADERpayload")
    source.seek(6)
    store.put("models/m.onnx", source, sha(b"payload"))
    assert bucket.get("models/m.onnx") == b"payload"


def test_large_files_go_up_in_parts(bucket):
    store = store_in(bucket, multipart_threshold=5 * MiB, part_size=5 * MiB)
    data = clip(11 * MiB + 7, seed=2)
    store.put("models/big.onnx", io.BytesIO(data), sha(data))
    assert store.stat("models/big.onnx") == Stat(len(data), sha(data))
    assert bucket.sha256("models/big.onnx") == sha(data)
    head = bucket.client.head_object(Bucket=bucket.name, Key="city/models/big.onnx", PartNumber=1)
    assert head["PartsCount"] == 3
    assert b"".join(store.read("models/big.onnx", 5 * MiB - 3, 5 * MiB + 2)) == data[5 * MiB - 3 : 5 * MiB + 3]


class Breaks(io.BytesIO):
    """A file whose reading fails after ``after`` bytes, like a spool on a failing disk."""

    def __init__(self, data: bytes, after: int):
        super().__init__(data)
        self.after = after

    def read(self, size: int | None = -1) -> bytes:
        if self.tell() >= self.after:
            raise OSError("read error")
        return super().read(size)


@pytest.mark.parametrize("size", [1 * MiB, 11 * MiB], ids=["one request", "multipart"])
def test_an_upload_that_fails_leaves_no_object(bucket, size):
    store = store_in(bucket, multipart_threshold=5 * MiB, part_size=5 * MiB)
    data = clip(size, seed=3)
    with pytest.raises(OSError):
        store.put("models/half.onnx", Breaks(data, size // 2 + 1), sha(data))
    assert bucket.objects() == {}
    assert bucket.client.list_multipart_uploads(Bucket=bucket.name).get("Uploads", []) == []  # aborted


def test_the_sweep_aborts_only_old_multipart_uploads_under_its_prefix(bucket):
    """What a process killed in the middle of a multipart upload leaves open, the bucket keeps and bills."""
    store = store_in(bucket)
    for key in ("city/models/killed.onnx", "elsewhere/models/other.onnx"):
        bucket.client.create_multipart_upload(Bucket=bucket.name, Key=key)
    # moto dates every upload 2010-11-10: younger than 20 years, it could still be in progress.
    assert store.sweep(older_than_s=20 * 365 * 86400) == 0
    assert store.sweep(older_than_s=3600) == 1
    left = bucket.client.list_multipart_uploads(Bucket=bucket.name).get("Uploads", [])
    assert [u["Key"] for u in left] == ["elsewhere/models/other.onnx"]


def test_an_unreachable_store_is_a_clear_error(bucket):
    down = S3BlobStore(bucket.name, endpoint_url="http://127.0.0.1:9", addressing_style="path")
    with pytest.raises(Unavailable, match="object store s3://.*: storing models/m.onnx"):
        down.put("models/m.onnx", io.BytesIO(b"x"), sha(b"x"))
    missing = S3BlobStore("no-such-bucket-here", endpoint_url=bucket.endpoint, addressing_style="path")
    with pytest.raises(Unavailable, match="NoSuchBucket"):
        missing.put("models/m.onnx", io.BytesIO(b"x"), sha(b"x"))


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("s3://bucket-1", ("bucket-1", "")),
        ("s3://bucket-1/a/b/", ("bucket-1", "a/b")),
        ("s3://b.c-d/x", ("b.c-d", "x")),
    ],
)
def test_bucket_urls(url, expected):
    assert parse_url(url) == expected


@pytest.mark.parametrize("url", ["s3://", "https://bucket/x", "s3://bucket/../x", "s3://bucket/x?y=1", "bucket/x"])
def test_bad_bucket_urls(url):
    with pytest.raises(ValueError):
        parse_url(url)


@pytest.mark.parametrize("url", ["s3://Bucket", "s3://b", "file:///srv/blobs", "s3://bucket_1/x"])
def test_bad_blob_store_settings_are_refused(url, tmp_path):
    with pytest.raises(ValueError):
        Settings(data_dir=tmp_path, blob_store=url)


def test_the_settings_choose_the_store(bucket, tmp_path):
    assert isinstance(open_store(Settings(data_dir=tmp_path)), LocalBlobStore)
    store = open_store(Settings(data_dir=tmp_path, **bucket.settings("p")))
    assert isinstance(store, S3BlobStore) and (store.bucket, store.prefix) == (bucket.name, "p/")


@pytest.fixture
def s3_world(tmp_path, bucket) -> World:
    app = create_app(Settings(data_dir=tmp_path / "data", **bucket.settings()))
    entity_id, tokens, users = provision(app)
    with TestClient(app) as client:
        yield World(app, client, entity_id, tokens, users)
    app.state.db.dispose()


def test_the_collector_keeps_evidence_and_models_in_the_bucket(s3_world, bucket, tmp_path):
    world = s3_world
    files = {"snapshot": jpeg(320, 240, seed=1), "crop": jpeg(64, 48, seed=2), "clip": clip(200_000, seed=4)}
    body = make_event(evidence=files)
    world.post_event(body)
    for kind, data in files.items():
        assert world.upload(body, kind, data).status_code == 201
        assert world.upload(body, kind, data).status_code == 200  # again: already stored
    event = body["event_id"]
    stored = {f"evidence/{event[:2]}/{event}/{kind}": len(data) for kind, data in files.items()}
    assert bucket.objects() == stored
    assert not (tmp_path / "data" / "blobs").exists()  # nothing on this host's disk

    url = f"/api/v1/events/{event}/evidence/clip"
    full = world.client.get(url, headers=world.user())
    assert full.status_code == 200 and full.content == files["clip"]
    part = world.client.get(url, headers={**world.user(), "Range": "bytes=1000-1999"})
    assert part.status_code == 206 and part.content == files["clip"][1000:2000]
    assert part.headers["content-range"] == f"bytes 1000-1999/{len(files['clip'])}"
    assert world.client.get(url, headers={**world.user(), "Range": "bytes=999999-"}).status_code == 416

    model = b"\x08\x08" + clip(70_000, seed=5)
    r = world.client.post(
        "/api/v1/models",
        data={"version": "v1", "sha256": sha(model)},
        files={"file": ("v1.onnx", model)},
        headers=world.user("admin"),
    )
    assert r.status_code == 201, r.text
    assert world.client.post("/api/v1/models/v1/current", headers=world.user("admin")).status_code == 200
    current = world.client.get("/api/v1/device/model", headers=world.device()).json()
    tail = world.client.get(current["url"], headers={**world.device(), "Range": "bytes=60000-"})
    assert tail.status_code == 206 and tail.content == model[60000:]
    assert bucket.metadata("models/v1.onnx") == {"sha256": sha(model)}

    # the retraining export reads its crops from the bucket
    assert (
        world.client.post(f"/api/v1/events/{event}/review", json={"action": "confirm"}, headers=world.user())
    ).status_code == 200
    export = world.client.get("/api/v1/export/reviewed.zip", headers=world.user("admin"))
    assert export.status_code == 200 and export.headers["x-exported"] == "1"
    with zipfile.ZipFile(io.BytesIO(export.content)) as z:
        crops = [name for name in z.namelist() if name.endswith(".jpg")]
        assert [z.read(name) for name in crops] == [files["crop"]]


def test_when_the_store_fails_an_upload_is_refused_with_503_and_nothing_is_recorded(s3_world, bucket):
    world = s3_world
    data = jpeg(seed=7)
    body = make_event(evidence={"crop": data})
    world.post_event(body)
    working = world.app.state.store
    world.app.state.store = S3BlobStore(bucket.name, "city", endpoint_url="http://127.0.0.1:9")
    r = world.upload(body, "crop", data)
    assert r.status_code == 503 and "object store" in r.json()["detail"]
    detail = world.client.get(f"/api/v1/events/{body['event_id']}", headers=world.user()).json()
    assert detail["evidence"][0]["uploaded"] is False  # the box keeps the file and tries again
    world.app.state.store = working
    assert world.upload(body, "crop", data).status_code == 201
    assert bucket.get(f"evidence/{body['event_id'][:2]}/{body['event_id']}/crop") == data


def test_the_commands_use_the_bucket(bucket, tmp_path, monkeypatch, capsys):
    for name, value in bucket.environment().items():
        monkeypatch.setenv(name, value)
    data_dir = tmp_path / "data"
    model = tmp_path / "m.onnx"
    model.write_bytes(b"\x08\x07" + bytes(5000))
    common = ["--data-dir", str(data_dir)]
    assert main(["collector", "add-model", *common, "--version", "v7", "--file", str(model), "--current"]) == 0
    assert bucket.objects() == {"models/v7.onnx": 5002}
    assert bucket.sha256("models/v7.onnx") == hashlib.sha256(model.read_bytes()).hexdigest()
    assert not (data_dir / "blobs").exists()
    capsys.readouterr()
    monkeypatch.setenv("BINWATCH_COLLECTOR_BLOB_STORE", "s3://Not_A_Bucket")
    assert main(["collector", "add-model", *common, "--version", "v8", "--file", str(model)]) == 1
    assert "blob_store" in capsys.readouterr().err


def test_a_worker_process_gets_the_secret_key(tmp_path):
    """``serve`` hands its settings to the workers as variables; the secret must travel unmasked."""
    from binwatch.collector.server import settings_environment

    settings = Settings(data_dir=tmp_path, s3_access_key_id="AKIA1", s3_secret_access_key="s3cr3t")
    env = settings_environment(settings)
    assert env["BINWATCH_COLLECTOR_S3_SECRET_ACCESS_KEY"] == "s3cr3t"
    assert "s3cr3t" not in repr(settings) and "s3cr3t" not in json.dumps(settings.model_dump(mode="json"))
