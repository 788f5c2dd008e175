"""``binwatch edge …`` as an operator runs it."""

from __future__ import annotations

import json
import logging
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import cv2
import numpy as np
import pytest
import tomli_w

from binwatch.cli import main
from binwatch.edge.config import dump
from binwatch.edge.outbox import Outbox
from binwatch.edge.simulator.scenario import render_scenario
from binwatch.edge.storage import Layout
from tests.edge import scene
from tests.edge.test_outbox import make_event

SAMPLES = Path(__file__).resolve().parents[2] / "edge" / "simulator" / "samples"


def write_config(tmp_path, video, **sections):
    path = tmp_path / "site.toml"
    dump(scene.site(tmp_path, video, **sections), path)
    return path


def test_check_config_draws_the_bins_on_a_camera_frame(scene_video, tmp_path, capsys):
    config = write_config(tmp_path, scene_video)
    assert main(["edge", "check-config", "--config", str(config)]) == 0
    out = capsys.readouterr().out
    assert "valid; device box-1 at site site-1, 3 bins" in out and "640x360" in out
    assert "bins.1 green-1 (kitchen): 4 points" in out
    image = cv2.imread(str(tmp_path / "site-check.png"))
    assert image.shape == (360, 640, 3)
    frame = cv2.VideoCapture(str(scene_video)).read()[1]
    assert not np.array_equal(image[72, 100:160], frame[72, 100:160])  # the outline of the blue bin's opening


def test_a_bad_config_names_the_key_and_fails(tmp_path, capsys):
    (tmp_path / "site.toml").write_text(
        'device_id = "b"\nsite_id = "s"\n[collector]\nurl = "http://c"\ntoken = "t"\n[camera]\nsource = "x.mp4"\n'
        '[[bins]]\nid = "k"\ncategory = "kitchen"\npolygon = [[0, 0], [10, 0]]\n[thresholds]\nmixed = 0.5\n'
    )
    assert main(["edge", "check-config", "--config", str(tmp_path / "site.toml")]) == 2
    err = capsys.readouterr().err
    assert "bins.0.polygon: Value error, at least 3 points" in err and "thresholds.mixed: unknown key" in err


def test_check_config_checks_its_picture_name_and_the_zones_against_the_frame(scene_video, tmp_path, capsys):
    config = write_config(tmp_path, scene_video)
    assert main(["edge", "check-config", "--config", str(config), "--out", str(tmp_path / "x.txt")]) == 2
    assert "x.txt: cannot write the PNG (the name must end in .png)" in capsys.readouterr().err
    data = tomllib.loads(config.read_text())
    data["zones"] = [{"id": "g1", "kind": "ground", "polygon": [[600, 300], [900, 300], [900, 350]]}]
    config.write_text(tomli_w.dumps(data))
    assert main(["edge", "check-config", "--config", str(config)]) == 2
    assert "zones.0" in capsys.readouterr().err


def test_check_config_reports_a_camera_it_cannot_read(tmp_path, capsys):
    config = write_config(tmp_path, tmp_path / "missing.mp4")
    assert main(["edge", "check-config", "--config", str(config)]) == 1
    assert "cannot read a frame" in capsys.readouterr().err


def test_status_prints_the_backlog(tmp_path, capsys):
    config = write_config(tmp_path, "v.mp4")
    outbox = Outbox(Layout(tmp_path / "store"))
    for flagged in (True, False):
        outbox.add(*make_event(outbox.layout, flagged, {"crop": 1000}))
    outbox.close()
    assert main(["edge", "status", "--config", str(config)]) == 0
    out = capsys.readouterr().out
    assert "backlog    2 events not yet delivered" in out and "pending  2 (1 flagged)" in out
    assert main(["edge", "status", "--config", str(config), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["files_waiting"] == 2


@pytest.fixture(scope="module")
def rendered(tmp_path_factory) -> Path:
    """A small scene of ``binwatch scenario``: the agent has something to find and the scorer a truth."""
    out = tmp_path_factory.mktemp("rendered") / "scene"
    render_scenario(SAMPLES, out, disposals=3, bins=2, seed=5, split="all", size=(640, 360), fps=10.0)
    return out


def test_eval_scores_a_rendered_scene_against_its_truth(rendered, tmp_path, capsys, caplog):
    caplog.set_level(logging.INFO, logger="binwatch")
    report = tmp_path / "report.json"
    assert main(["edge", "eval", "--scene", str(rendered), "--scene", str(rendered), "--json", str(report)]) == 0
    out = capsys.readouterr().out
    assert "per condition:" in out and "daylight" in out
    scored = json.loads(report.read_text())["scenes"][str(rendered)]
    assert scored["disposals"]["truth"] == 3 and scored["disposals"]["matched"] >= 2
    assert "disposal at bin" in caplog.text  # what the agent logs as it runs a scene


def test_eval_checks_every_scene_before_it_runs_one(rendered, tmp_path, capsys, caplog):
    # A malformed truth, a truth of another shape, a config that is no TOML, a missing video: each is named by its
    # path at once; the good scene given first was not run (its agent would log its disposals).
    caplog.set_level(logging.INFO, logger="binwatch")
    cases = {
        "truth.json": ("not json", "truth.json: not JSON"),
        "shape/truth.json": ('{"format": "binwatch-truth/1"}', "start_time: Field required"),
        "site.toml": ("[site\nid =", "site.toml: not valid TOML"),
    }
    for name, (text, message) in cases.items():
        bad = tmp_path / name.split("/")[0].replace(".json", "").replace(".toml", "")
        shutil.copytree(rendered, bad, dirs_exist_ok=True)
        (bad / Path(name).name).write_text(text)
        caplog.clear()
        assert main(["edge", "eval", "--scene", str(rendered), "--scene", str(bad)]) == 2
        err = capsys.readouterr().err
        assert message in err and str(bad) in err, err
        assert "disposal at bin" not in caplog.text
    (tmp_path / "truth" / "scene.mp4").unlink()
    assert main(["edge", "eval", "--scene", str(rendered), "--scene", str(tmp_path / "truth")]) == 2
    assert "scene.mp4: no such video file" in capsys.readouterr().err
    report = tmp_path / "no-such-folder" / "report.json"
    assert main(["edge", "eval", "--scene", str(rendered), "--json", str(report)]) == 2
    assert "report.json" in capsys.readouterr().err and "disposal at bin" not in caplog.text


def test_eval_warns_of_a_video_shorter_than_its_truth(rendered, tmp_path, capsys):
    cut = tmp_path / "cut"
    shutil.copytree(rendered, cut)
    source = cv2.VideoCapture(str(rendered / "scene.mp4"))
    fps = source.get(cv2.CAP_PROP_FPS)
    frames = [source.read()[1] for _ in range(int(fps))]  # its first second
    writer = cv2.VideoWriter(str(cut / "scene.mp4"), cv2.VideoWriter_fourcc(*"mp4v"), fps, frames[0].shape[1::-1])
    for frame in frames:
        writer.write(frame)
    writer.release()
    assert main(["edge", "eval", "--scene", str(cut)]) == 0
    assert f"has {len(frames)} frames but its truth" in capsys.readouterr().err


def test_the_agent_imports_neither_torch_nor_training():
    code = (
        "import sys; from binwatch.edge import agent, cli, delivery, evidence, live, offline, outbox; "
        "bad = [m for m in ('torch', 'binwatch.training', 'binwatch.model') if m in sys.modules]; assert not bad, bad"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
