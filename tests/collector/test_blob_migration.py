"""``binwatch collector migrate-blobs``: a local store into a bucket, idempotent and resumable, killed or not."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest

from binwatch.cli import main
from binwatch.collector.blob_migration import migrate_blobs
from binwatch.collector.blobs import LocalBlobStore
from binwatch.collector.evidence import evidence_key
from binwatch.collector.s3 import S3BlobStore
from tests.collector.objectstore import S3Bucket
from tests.collector.support import World, clip, jpeg, make_event, sha


def fill(store: LocalBlobStore, count: int, size: int = 2000) -> dict[str, bytes]:
    """``count`` files under evidence keys, written as the store lays them out: key -> bytes."""
    files = {}
    for i in range(count):
        data = clip(size + i, seed=i)
        key = evidence_key(f"{i:08x}-0000-4000-8000-000000000000", ("snapshot", "crop", "clip")[i % 3])
        path = store.local_path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        files[key] = data
    return files


def migrate(data_dir, bucket: S3Bucket, *extra: str) -> list[str]:
    return ["collector", "migrate-blobs", "--data-dir", str(data_dir), "--to", bucket.url(), *extra]


def test_the_local_store_moves_into_the_bucket_once(world: World, bucket, monkeypatch, capsys):
    """Real events with evidence and a model: all of it lands in the bucket, and a second run copies nothing."""
    monkeypatch.setenv("BINWATCH_COLLECTOR_S3_ENDPOINT_URL", bucket.endpoint)
    monkeypatch.setenv("BINWATCH_COLLECTOR_S3_ADDRESSING_STYLE", "path")
    data = {"crop": jpeg(seed=1), "clip": clip(90_000, seed=2)}
    body = make_event(evidence=data)
    world.post_event(body)
    for kind, content in data.items():
        assert world.upload(body, kind, content).status_code == 201
    model = b"\x08\x08" + bytes(4000)
    form = {"version": "v1", "sha256": sha(model)}
    r = world.client.post("/api/v1/models", data=form, files={"file": ("m", model)}, headers=world.user("admin"))
    assert r.status_code == 201
    store: LocalBlobStore = world.app.state.store
    local = {key: b"".join(store.read(key)) for key in list(store.keys())}
    assert len(local) == 3
    (store.root / "models" / ".upload-abc123").write_bytes(b"half a file")  # a write a crash cut short
    data_dir = world.app.state.settings.data_dir

    assert main(migrate(data_dir, bucket)) == 0
    assert capsys.readouterr().out.startswith("3 copied")
    assert {key: bucket.get(key) for key in bucket.objects()} == local
    assert all(bucket.metadata(key) == {"sha256": sha(content)} for key, content in local.items())

    assert main(migrate(data_dir, bucket)) == 0  # again: everything is there already
    assert capsys.readouterr().out.startswith("0 copied (0.0 MiB), 3 already in the bucket")

    # The collector, switched to the bucket, serves what was local.
    world.app.state.store = S3BlobStore(bucket.name, "city", endpoint_url=bucket.endpoint, addressing_style="path")
    r = world.client.get(f"/api/v1/events/{body['event_id']}/evidence/clip", headers=world.user())
    assert r.status_code == 200 and r.content == data["clip"]

    assert main(migrate(data_dir, bucket, "--remove-local")) == 0
    assert list(store.keys()) == []
    assert capsys.readouterr().out.startswith("0 copied (0.0 MiB), 3 already in the bucket, 3 removed locally")


def test_a_file_the_database_names_and_no_store_has_is_reported(world: World, bucket, monkeypatch, capsys):
    monkeypatch.setenv("BINWATCH_COLLECTOR_S3_ENDPOINT_URL", bucket.endpoint)
    crop = jpeg(seed=3)
    body = make_event(evidence={"crop": crop})
    world.post_event(body)
    world.upload(body, "crop", crop)
    key = evidence_key(body["event_id"], "crop")
    world.app.state.store.delete(key)  # lost before the migration
    assert main(migrate(world.app.state.settings.data_dir, bucket)) == 1
    captured = capsys.readouterr()
    assert captured.out.startswith("0 copied") and f"missing: {key}" in captured.err


def test_an_unreachable_bucket_fails_each_copy_and_the_run_gives_up(tmp_path, bucket):
    source = LocalBlobStore(tmp_path / "blobs")
    files = fill(source, 12)
    down = S3BlobStore(bucket.name, "city", endpoint_url="http://127.0.0.1:9", addressing_style="path")
    report = migrate_blobs(source, down, jobs=2, give_up_after=5)
    assert report.gave_up and 5 <= len(report.failed) < len(files) and report.copied == 0
    assert all("object store" in why for why in report.failed.values())
    assert sorted(source.keys()) == sorted(files)  # nothing removed
    assert "gave up" in report.line()


def test_bad_requests(tmp_path, capsys):
    assert main(["collector", "migrate-blobs", "--data-dir", str(tmp_path)]) == 2
    assert "name the bucket" in capsys.readouterr().err
    assert main(["collector", "migrate-blobs", "--data-dir", str(tmp_path), "--to", "s3://Bad_Name"]) == 1
    assert "blob_store" in capsys.readouterr().err
    assert (
        main(["collector", "migrate-blobs", "--data-dir", str(tmp_path), "--to", "s3://bucket-1", "--jobs", "0"]) == 2
    )


@pytest.mark.slow
def test_killed_in_the_middle_and_run_again_loses_and_doubles_nothing(tmp_path, bucket):
    data_dir = tmp_path / "data"
    files = fill(LocalBlobStore(data_dir / "blobs"), 300)
    env = {**os.environ, **bucket.environment()}
    command = [sys.executable, "-c", "from binwatch.cli import main; raise SystemExit(main())"]
    run = subprocess.Popen(
        [*command, *migrate(data_dir, bucket, "--jobs", "4")], env=env, stderr=subprocess.PIPE, text=True
    )
    try:
        assert run.stderr is not None
        lines = iter(run.stderr.readline, "")
        assert any(line.startswith("copying") for line in lines)  # after the log of the database's migration
        progress = next(lines)  # "100 copied …": a hundred files are done
        assert "copied" in progress, progress
        run.send_signal(signal.SIGKILL)
        assert run.wait(timeout=30) == -signal.SIGKILL
    finally:
        if run.poll() is None:
            run.kill()
        run.stderr.close()
    halfway = bucket.objects()
    assert 100 <= len(halfway) < len(files)  # killed with work left
    for key, size in halfway.items():  # whatever is there is whole
        assert size == len(files[key]) and bucket.sha256(key) == sha(files[key])

    done = subprocess.run([*command, *migrate(data_dir, bucket)], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    copied = int(done.stdout.split()[0])
    assert copied == len(files) - len(halfway)  # only what was missing was sent
    assert f"{len(halfway)} already in the bucket" in done.stdout
    final = bucket.objects()
    assert final.keys() == files.keys()  # every file, each under its one key: nothing lost, nothing doubled
    assert all(bucket.sha256(key) == sha(data) for key, data in files.items())
    assert bucket.client.list_multipart_uploads(Bucket=bucket.name).get("Uploads", []) == []
