"""The model registry: checked uploads, the current version, rollback, and what devices fetch."""

from __future__ import annotations

import io
import json
import threading
import time

import pytest

from binwatch.collector.blobs import LocalBlobStore
from binwatch.collector.db.tables import ModelVersion
from binwatch.collector.errors import Conflict
from binwatch.collector.registry import add_version
from binwatch.collector.spool import measure_file
from tests.collector.support import World, sha


def onnx(tag: str, size: int = 3000) -> bytes:
    """Bytes that begin like a serialised ONNX ModelProto (field 1, ir_version)."""
    return (b"\x08\x08\x12\x07binwatch" + tag.encode()).ljust(size, b"\x00")


def upload(
    world: World,
    version: str,
    data: bytes,
    user: str = "admin",
    digest: str | None = None,
    metrics: str | None = '{"top1": 0.91}',
):
    form = {"version": version, "sha256": digest or sha(data)}
    if metrics is not None:
        form["metrics"] = metrics
    return world.client.post(
        "/api/v1/models", data=form, files={"file": (f"{version}.onnx", data)}, headers=world.user(user)
    )


def test_upload_list_current_and_rollback(world: World):
    a, b, c = onnx("a"), onnx("b"), onnx("c")
    r = upload(world, "v1", a)
    assert r.status_code == 201, r.text
    assert r.json() == {
        **r.json(),
        "version": "v1",
        "sha256": sha(a),
        "size": len(a),
        "metrics": {"top1": 0.91},
        "current": False,
    }
    assert upload(world, "v1", a).status_code == 200  # the same file again changes nothing
    assert upload(world, "v2", b).status_code == 201
    assert upload(world, "v3", c, metrics=None).json()["metrics"] == {}

    def current():
        return [
            m["version"] for m in world.client.get("/api/v1/models", headers=world.user("admin")).json() if m["current"]
        ]

    assert current() == []
    assert world.client.post("/api/v1/models/rollback", headers=world.user("admin")).status_code == 409
    for version in ("v1", "v2", "v3"):
        r = world.client.post(f"/api/v1/models/{version}/current", headers=world.user("admin"))
        assert r.status_code == 200 and r.json()["current"]
    assert current() == ["v3"]
    assert world.client.post("/api/v1/models/rollback", headers=world.user("admin")).json()["version"] == "v2"
    assert world.client.post("/api/v1/models/rollback", headers=world.user("admin")).json()["version"] == "v1"
    assert world.client.post("/api/v1/models/rollback", headers=world.user("admin")).status_code == 409
    assert current() == ["v1"]
    world.client.post("/api/v1/models/v3/current", headers=world.user("admin"))
    assert world.client.post("/api/v1/models/rollback", headers=world.user("admin")).json()["version"] == "v1"
    assert world.client.post("/api/v1/models/nope/current", headers=world.user("admin")).status_code == 404


@pytest.mark.parametrize(
    ("version", "data", "digest", "metrics", "status"),
    [
        ("v9", onnx("x"), sha(b"other"), "{}", 422),
        ("v9", b"PK\x03\x04 a zip, not a model", None, "{}", 415),
        ("v9", onnx("x"), None, "[1, 2]", 422),
        ("v9", onnx("x"), None, "{not json", 422),
        ("v9", onnx("x"), None, '{"x": NaN}', 422),
        ("../v9", onnx("x"), None, "{}", 422),
        ("v 9", onnx("x"), None, "{}", 422),
        ("v9", onnx("x"), "xyz", "{}", 422),
    ],
)
def test_bad_uploads_store_nothing(world: World, version, data, digest, metrics, status):
    r = upload(world, version, data, digest=digest, metrics=metrics)
    assert r.status_code == status, r.text
    assert world.client.get("/api/v1/models", headers=world.user("admin")).json() == []
    assert not (world.app.state.settings.blob_dir / "models").exists() or not any(
        (world.app.state.settings.blob_dir / "models").iterdir()
    )


def test_same_version_with_another_file_is_409(world: World):
    assert upload(world, "v1", onnx("a")).status_code == 201
    assert upload(world, "v1", onnx("b")).status_code == 409


def test_model_over_the_cap_is_413(settings, template):
    from fastapi.testclient import TestClient

    from binwatch.collector.app import create_app

    app = create_app(settings.model_copy(update={"max_model_bytes": 2048}))
    with TestClient(app) as client:
        world = World(app, client, template.entity_id, template.device_tokens, template.user_ids, dict(template.logins))
        assert upload(world, "big", onnx("big", 10_000)).status_code == 413
    app.state.db.dispose()


def test_registry_is_for_admins(world: World):
    data = onnx("a")
    assert upload(world, "v1", data, user="rita").status_code == 403
    assert world.client.get("/api/v1/models", headers=world.user("rita")).status_code == 403
    assert world.client.post("/api/v1/models/rollback", headers=world.user("rita")).status_code == 403
    assert world.client.post("/api/v1/models/v1/current", headers=world.user("rita")).status_code == 403
    assert world.client.get("/api/v1/models", headers=world.device()).status_code == 401


def test_devices_fetch_the_current_model(world: World):
    assert world.client.get("/api/v1/device/model", headers=world.device()).status_code == 404
    data = onnx("a", 5000)
    upload(world, "v1", data)
    world.client.post("/api/v1/models/v1/current", headers=world.user("admin"))
    r = world.client.get("/api/v1/device/model", headers=world.device())
    assert r.status_code == 200
    info = r.json()
    assert (info["version"], info["sha256"], info["size"]) == ("v1", sha(data), len(data))
    file = world.client.get(info["url"], headers=world.device())
    assert file.status_code == 200 and file.content == data
    part = world.client.get(info["url"], headers={**world.device(), "Range": "bytes=4000-"})
    assert part.status_code == 206 and part.content == data[4000:]
    assert world.client.get(info["url"], headers=world.user("admin")).content == data
    assert world.client.get(info["url"], headers=world.user("rita")).status_code == 403
    assert world.client.get(info["url"]).status_code == 401
    assert world.client.get("/api/v1/device/model", headers=world.user("admin")).status_code == 401
    assert world.client.get("/api/v1/models/nope/file", headers=world.device()).status_code == 404
    assert json.loads(world.client.get("/api/v1/models", headers=world.user("admin")).text)[0]["current"]


class SlowStore(LocalBlobStore):
    """A store that takes its time to write, so that two uploads of one version overlap; it counts its writes."""

    def __init__(self, root):
        super().__init__(root)
        self.writes: list[str] = []

    def put(self, key, source, sha256):
        self.writes.append(key)
        time.sleep(0.3)
        super().put(key, source, sha256)


@pytest.mark.parametrize("same_file", [False, True], ids=["two files", "one file twice"])
def test_one_version_uploaded_twice_at_once_is_written_once(world: World, tmp_path, same_file):
    """The loser of the race gets a conflict (or, for the same file, the winner's row) and writes no byte."""
    store = SlowStore(tmp_path / "blobs")
    files = [onnx("a", 200_000), onnx("a" if same_file else "b", 200_000)]
    outcomes: list[str] = ["", ""]
    barrier = threading.Barrier(2)

    def register(i: int) -> None:
        upload = measure_file(io.BytesIO(files[i]), 2**20)
        barrier.wait()
        try:
            _row, created = add_version(
                world.app.state.db, store, version="v9", upload=upload, sha256=sha(files[i]), metrics={}
            )
            outcomes[i] = "created" if created else "found"
        except Conflict:
            outcomes[i] = "conflict"

    threads = [threading.Thread(target=register, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == sorted(["created", "found" if same_file else "conflict"])
    winner = files[outcomes.index("created")]
    assert store.writes == ["models/v9.onnx"]  # written once, by the winner
    assert [p.name for p in (tmp_path / "blobs" / "models").iterdir()] == ["v9.onnx"]  # no temporary file either
    assert b"".join(store.read("models/v9.onnx")) == winner
    with world.app.state.db.read() as session:
        assert session.get(ModelVersion, "v9").sha256 == sha(winner)


def test_a_version_whose_file_cannot_be_stored_is_not_registered(world: World, tmp_path):
    class FullDisk(LocalBlobStore):
        def put(self, key, source, sha256):
            raise OSError(28, "No space left on device")

    data = onnx("c")
    with pytest.raises(OSError):
        add_version(
            world.app.state.db,
            FullDisk(tmp_path),
            version="v10",
            upload=measure_file(io.BytesIO(data), 2**20),
            sha256=sha(data),
            metrics={},
        )
    assert upload(world, "v10", data).status_code == 201  # the version is still free
