"""``binwatch edge …`` as an operator runs it."""

from __future__ import annotations

import json
import subprocess
import sys

import cv2
import numpy as np

from binwatch.cli import main
from binwatch.edge.config import dump
from binwatch.edge.outbox import Outbox
from binwatch.edge.storage import Layout
from tests.edge import scene
from tests.edge.test_outbox import make_event


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


def test_eval_runs_offline_and_hands_events_and_truth_to_the_scorer(scene_video, tmp_path, capsys, monkeypatch):
    seen = {}

    def score(events, truth):
        seen.update(events=events, truth=truth)
        return {"disposals": len(events)}

    from binwatch.edge.simulator import score as scorer

    monkeypatch.setattr(scorer, "score", score)
    monkeypatch.setattr(scorer, "format_table", lambda report: f"table: {report['disposals']} disposals")
    config = write_config(tmp_path, scene_video)
    (tmp_path / "truth.json").write_text(json.dumps([{"t": 1.0}]))
    args = [
        "edge",
        "eval",
        "--video",
        str(scene_video),
        "--truth",
        str(tmp_path / "truth.json"),
        "--config",
        str(config),
        "--json",
        str(tmp_path / "report.json"),
    ]
    assert main(args) == 0
    assert capsys.readouterr().out.strip() == "table: 8 disposals"
    assert seen["truth"] == [{"t": 1.0}] and len(seen["events"]) == 8
    assert json.loads((tmp_path / "report.json").read_text()) == {"disposals": 8}


def test_the_agent_imports_neither_torch_nor_training():
    code = (
        "import sys; from binwatch.edge import agent, cli, delivery, evidence, live, offline, outbox; "
        "bad = [m for m in ('torch', 'binwatch.training', 'binwatch.model') if m in sys.modules]; assert not bad, bad"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
