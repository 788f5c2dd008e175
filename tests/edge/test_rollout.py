"""Model roll-out against a stand-in collector on 127.0.0.1: a verified model is swapped in
between frames and reported; a bad one is discarded once and the running model stays."""

from __future__ import annotations

import hashlib
import threading
import time
from datetime import timedelta

import cv2
import onnx
import pytest

from binwatch.edge.agent import Agent
from binwatch.edge.client import CollectorClient
from binwatch.edge.config import CollectorConfig
from binwatch.edge.live import LiveAgent
from binwatch.edge.offline import OFFLINE_START
from binwatch.edge.outbox import Outbox
from binwatch.edge.rollout import ModelUpdater, load_installed
from binwatch.edge.storage import Layout
from binwatch.inference.classifier import Classifier, default_model_path
from tests.edge import scene
from tests.edge.collector_stub import TOKEN

NEW = "rollout-test"


def rewritten(path, **changes) -> bytes:
    """The release model with some of its ``binwatch.*`` metadata changed."""
    model = onnx.load(str(default_model_path()))
    props = {p.key: p.value for p in model.metadata_props}
    del model.metadata_props[:]
    for key, value in {**props, **{f"binwatch.{k}": v for k, v in changes.items()}}.items():
        model.metadata_props.add(key=key, value=value)
    onnx.save(model, str(path))
    return path.read_bytes()


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, bytes]:
    tmp = tmp_path_factory.mktemp("models")
    good = rewritten(tmp / "good.onnx", version=NEW)
    corrupt = bytearray(good)
    corrupt[len(corrupt) // 2] ^= 0xFF
    return {
        "good": good,
        "newer": rewritten(tmp / "newer.onnx", version="rollout-test-2"),
        "corrupt": bytes(corrupt),
        "other_taxonomy": rewritten(tmp / "zmd.onnx", version="rollout-zmd", taxonomy_version="zmd-2019.1"),
    }


@pytest.fixture
def updater(collector, tmp_path, classifier):
    client = CollectorClient(CollectorConfig(url=collector.url, token=TOKEN, timeout_s=2))
    handed: list[Classifier] = []
    updater = ModelUpdater(client, Layout(tmp_path / "store").models, classifier.version, handed.append)
    updater.handed = handed
    yield updater
    client.close()


def names(folder) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def test_a_verified_model_is_installed_handed_over_once_and_preferred_after_a_restart(updater, collector, files):
    models = updater.models_dir
    collector.offer(NEW, files["good"])
    new = updater.check()
    assert new is not None and new.version == updater.version == NEW and updater.handed == [new]
    assert names(models) == ["current.json", f"{NEW}.onnx"]
    assert updater.check() is None and collector.downloads[NEW] == 1  # running it: nothing to fetch

    assert load_installed(models).version == NEW  # the next start begins with it

    collector.offer("rollout-test-2", files["newer"])
    assert updater.check().version == "rollout-test-2"
    assert names(models) == ["current.json", "rollout-test-2.onnx"]  # the one it replaced is gone

    (models / "rollout-test-2.onnx").write_bytes(b"changed on disk")
    assert load_installed(models) is None and names(models) == ["rollout-test-2.onnx"]  # back to the configured one


@pytest.mark.parametrize(
    "version, file, declared",
    [
        (NEW, "corrupt", "good"),  # bytes that do not match the SHA-256 the collector recorded
        ("rollout-junk", None, None),  # not ONNX at all
        ("rollout-zmd", "other_taxonomy", None),  # made for another taxonomy version
        ("rollout-misnamed", "good", None),  # the file calls itself "rollout-test"
    ],
)
def test_a_bad_model_is_discarded_once_and_the_running_one_stays(
    updater, collector, files, classifier, caplog, version, file, declared
):
    data = files[file] if file else b"this is not an ONNX model\n" * 400
    if declared:
        collector.offer(version, data, sha256=hashlib.sha256(files[declared]).hexdigest())
    else:
        collector.offer(version, data)
    assert updater.check() is None
    assert f"model {version} discarded, keeping {classifier.version}" in caplog.text
    assert updater.check() is None and updater.check() is None
    assert collector.downloads[version] == 1  # remembered: not fetched at every check
    assert updater.handed == [] and updater.version == classifier.version
    assert names(updater.models_dir) == []  # nothing left on disk


def test_collector_down_failing_or_without_a_model_is_no_crash(updater, collector, files):
    assert updater.check() is None  # no model is current: 404
    collector.fail_with = 503
    collector.offer(NEW, files["good"])
    assert updater.check() is None and updater.failing
    collector.fail_with = None
    del collector.model_files[NEW]  # the offer is there, its file is not
    assert updater.check() is None and names(updater.models_dir) == []
    collector.down()
    assert updater.check() is None
    collector.up()
    collector.offer(NEW, files["good"])
    assert updater.rejected == {}  # none of that was the model's fault
    assert updater.check().version == NEW and not updater.failing


def test_the_token_is_only_sent_to_the_collector(updater, collector, files):
    collector.offer(NEW, files["good"])
    collector.model["url"] = f"http://127.0.0.2:{collector.port}/api/v1/models/{NEW}/file"  # another origin
    assert updater.check().version == NEW  # fetched by its path from collector.url
    assert collector.downloads[NEW] == 1


@pytest.mark.parametrize("check_s, expected", [(300, NEW), (0, None)])
def test_live_agent_starts_with_the_installed_model_while_roll_out_is_on(
    updater, collector, files, scene_video, tmp_path, classifier, check_s, expected
):
    collector.offer(NEW, files["good"])
    updater.check()
    live = LiveAgent(scene.site(tmp_path, scene_video, collector={"model_check_s": check_s}))
    try:
        assert live.classifier.version == (expected or classifier.version)  # 0: roll-out off, models/ ignored
        assert (live.rollout is not None) == bool(check_s)
    finally:
        live.outbox.close()
        live.client.close()


def test_a_swapped_model_labels_the_events_concluded_after_it(scene_video, tmp_path, classifier, files):
    (tmp_path / "new.onnx").write_bytes(files["good"])
    new = Classifier(tmp_path / "new.onnx", threads=1)
    config = scene.site(tmp_path, scene_video, clips={"pre_s": 0.5, "post_s": 1.5})
    agent = Agent(config, classifier, outbox=Outbox(Layout(config.storage.dir)))
    capture = cv2.VideoCapture(str(scene_video))
    events, index, swapped_at = [], 0, None
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        if swapped_at is None and agent._waiting:  # a flagged disposal waits for the end of its clip
            agent.classifier, swapped_at = new, len(events)
        events += agent.process(frame, OFFLINE_START + timedelta(seconds=index / scene.FPS))
        index += 1
    events += agent.close()
    assert swapped_at is not None and len(events) == 8
    versions = [e.model_version for e in events]
    # It was classified by the old model, so it says so, although it is sent after the swap.
    assert versions[: swapped_at + 1] == [classifier.version] * (swapped_at + 1)
    assert versions[swapped_at + 1 :] == [NEW] * (len(events) - swapped_at - 1)


def test_live_agent_keeps_streaming_while_downloading_then_reports_the_new_model(tmp_path, collector, files):
    video = scene.render(
        tmp_path / "short.mp4", [scene.Drop(2.0, "blue-1", "plastic_bottle"), scene.Drop(2.5, "grey-1", "battery")], 5.0
    )
    config = scene.site(
        tmp_path,
        video,
        url=collector.url,
        camera={"realtime": True},
        clips={"post_s": 0.5},
        collector={"model_check_s": 60, "heartbeat_s": 1},
    )
    collector.offer(NEW, files["good"])
    collector.download_s = 1.0
    live = LiveAgent(config)
    old = live.classifier.version
    result: list[int] = []
    runner = threading.Thread(target=lambda: result.append(live.run()))
    runner.start()
    during = []  # frames processed, sampled while the model downloads
    deadline = time.monotonic() + 15
    while runner.is_alive() and time.monotonic() < deadline:
        if collector.downloading:
            during.append(live.agent.counts["frames"])
        time.sleep(0.02)
    live.stop.set()
    runner.join(10)
    assert result == [0]
    assert during and during[-1] - during[0] >= 5  # 10 fps for about a second: the frame loop did not wait
    assert live.classifier.version == NEW and collector.downloads[NEW] == 1
    beats = [h.model_version for h in collector.heartbeats]
    assert beats[0] == old and beats[-1] == NEW
    assert len(collector.events) == 2 and {e["model_version"] for e in collector.events.values()} == {NEW}
