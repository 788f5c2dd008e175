"""``binwatch edge run`` when something is wrong at start or on the way: one clear line (or JSON log entry) and a
non-zero exit, never a traceback, and a JSON log that stays JSON whatever the native libraries print."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import onnx
import pytest

from binwatch.datasets import taxonomy
from binwatch.edge.config import dump
from binwatch.edge.modelcheck import Rejected
from binwatch.edge.offline import run_offline
from binwatch.inference.classifier import default_model_path
from tests.edge import scene
from tests.edge.test_rollout import rewritten
from tests.servers import free_port


def edge_run(config: Path, timeout_s: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "binwatch", "edge", "run", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=timeout_s,
    )


def write_config(tmp_path: Path, video, **sections) -> Path:
    path = tmp_path / "site.toml"
    dump(scene.site(tmp_path, video, **sections), path)
    return path


def one_error_line(result: subprocess.CompletedProcess) -> str:
    assert result.returncode != 0 and "Traceback" not in result.stderr, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def without_output(path: Path, which: int) -> Path:
    """The release model with one of its two outputs removed from the graph."""
    model = onnx.load(str(default_model_path()))
    del model.graph.output[which]
    onnx.save(model, str(path))
    return path


@pytest.fixture(scope="module")
def bad_models(tmp_path_factory) -> dict[str, Path]:
    tmp = tmp_path_factory.mktemp("bad-models")
    preprocess = json.dumps({"size": 224, "mean": [0.5] * 3, "std": [0.5] * 3, "resize": "letterbox"})
    rewritten(tmp / "input-224.onnx", preprocess=preprocess)
    # the newer taxonomy's 32 items, valid names, on a graph with 30 outputs
    newer = taxonomy.VERSIONS["zmd-2024.2"]
    rewritten(tmp / "32-labels.onnx", labels=json.dumps(list(newer)), taxonomy_version="zmd-2024.2")
    return {
        "input size": tmp / "input-224.onnx",
        "output count": without_output(tmp / "one-output.onnx", 1),
        "label count": tmp / "32-labels.onnx",
    }


@pytest.mark.parametrize(
    ("bad", "says"),
    [
        ("input size", "but its metadata says images of 3×224×224"),
        ("output count", "it has 1 outputs, not 2"),
        ("label count", "its metadata names 32 items"),
    ],
)
def test_a_model_that_cannot_run_is_refused_at_start(scene_video, tmp_path, bad_models, bad, says):
    config = tmp_path / "site.toml"
    dump(scene.site(tmp_path, scene_video).model_copy(update={"model": bad_models[bad]}), config)
    result = edge_run(config)
    line = one_error_line(result)
    assert line.startswith("binwatch edge: error:") and says in line
    assert not (tmp_path / "store").exists()  # refused before the outbox, the camera or a single frame
    with pytest.raises(Rejected, match=says.replace("(", r"\(")):
        run_offline(scene.site(tmp_path, scene_video).model_copy(update={"model": bad_models[bad]}), scene_video)


@pytest.mark.parametrize("unusable", ["a file", "a folder for the database"])
def test_an_outbox_that_cannot_be_opened_for_writing_is_one_line(scene_video, tmp_path, unusable):
    store = tmp_path / "store"
    if unusable == "a file":
        store.write_text("not a folder")
    else:
        (store / "outbox.sqlite3").mkdir(parents=True)
    line = one_error_line(edge_run(write_config(tmp_path, scene_video)))
    assert "cannot open the outbox for writing" in line and "must be a writable folder" in line


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes to read-only folders; the cases above stand in")
def test_a_read_only_outbox_is_one_line(scene_video, tmp_path):
    config = write_config(tmp_path, scene_video)
    (tmp_path / "store").mkdir()
    (tmp_path / "store").chmod(0o555)
    try:
        line = one_error_line(edge_run(config))
    finally:
        (tmp_path / "store").chmod(0o755)
    assert "cannot open the outbox for writing" in line


def test_a_truncated_video_ends_with_a_warning_and_status_1(tmp_path, collector):
    whole = scene.render(tmp_path / "whole.avi", [scene.Drop(1.5, "blue-1", "plastic_bottle")], 6.0)
    cut = tmp_path / "cut.avi"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size * 7 // 10])
    result = edge_run(write_config(tmp_path, cut, url=collector.url))
    assert result.returncode == 1, result.stderr
    warnings = [entry for entry in map(json.loads, result.stderr.splitlines()) if entry["level"] == "warning"]
    assert any("truncated or damaged" in entry["msg"] for entry in warnings)
    assert len(collector.events) == 1  # what it could read was still delivered


@pytest.mark.parametrize("scheme", ["rtsp", "http"])
def test_an_unreachable_camera_keeps_the_log_json_and_says_why(tmp_path, collector, scheme):
    config = write_config(
        tmp_path, f"{scheme}://127.0.0.1:{free_port()}/stream", url=collector.url, camera={"reconnect_max_s": 0.5}
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "binwatch", "edge", "run", "--config", str(config)],
        stderr=subprocess.PIPE,
        text=True,
    )
    time.sleep(6)
    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=30)
    assert process.returncode == 0
    entries = [json.loads(line) for line in err.splitlines()]  # every line is a JSON object
    assert any(e["logger"] == "binwatch.edge.camera" and "reopening" in e["msg"] for e in entries)
    native = [e["msg"] for e in entries if e["logger"] == "native"]
    assert any("Connection refused" in msg or "127.0.0.1" in msg for msg in native), native


def small_disk_command(mount_point: Path, size: str, *command: str) -> list[str]:
    """``command`` run with a fresh tmpfs of ``size`` at ``mount_point``, in a mount namespace of its own
    (``unshare -m``), so that the small disk vanishes with the process."""
    script = f'mount -t tmpfs -o size={size} tmpfs "$0" && exec "$@"'
    return ["unshare", "-m", "sh", "-c", script, str(mount_point), *command]


def small_disks_work(tmp_path: Path) -> bool:
    (tmp_path / "probe").mkdir()
    try:
        probe = subprocess.run(small_disk_command(tmp_path / "probe", "64k", "true"), capture_output=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return probe.returncode == 0


def test_a_full_disk_costs_evidence_never_a_crash_or_a_committed_event(scene_video, tmp_path, collector):
    """A real full disk: the outbox on a tmpfs of 300 kB, the collector down while events pile up."""
    if not small_disks_work(tmp_path):
        pytest.skip("mounting a tmpfs needs CAP_SYS_ADMIN (the max_page_count test in test_outbox.py stands in)")
    store = tmp_path / "store"
    store.mkdir()
    config = write_config(tmp_path, scene_video, url=collector.url, storage={"reserve_mb": 0})
    collector.fail_with = 503
    command = [sys.executable, "-m", "binwatch", "edge", "run", "--config", str(config)]
    process = subprocess.Popen(small_disk_command(store, "300k", *command), stderr=subprocess.PIPE, text=True)
    time.sleep(12)  # the scene is read and its evidence fills the disk meanwhile
    collector.fail_with = None
    _, err = process.communicate(timeout=120)
    assert process.returncode == 0 and "Traceback" not in err, err[-3000:]
    entries = [json.loads(line) for line in err.splitlines()]
    said = " ".join(e["msg"] for e in entries)
    assert "No space left on device" in said and "the disk is full (database or disk is full)" in said
    assert len(collector.events) == 8  # every disposal committed and delivered, some without their evidence
    for event_id, event in collector.events.items():
        delivered = {kind for (e, kind) in collector.evidence if e == event_id}
        assert delivered <= {e["kind"] for e in event["evidence"]}
