"""``binwatch edge run`` end to end: killed mid-run, restarted, the collector down for part of it.

Every event the box committed reaches the stand-in collector exactly once, with its
evidence, although the first run is killed with SIGKILL, the collector refuses connections
during the first run and answers 503 at the start of the second, and one answer is lost.
"""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from binwatch.edge.config import dump
from binwatch.events.schema import EvidenceKind
from tests.edge import scene
from tests.edge.conftest import DROPS
from tests.servers import free_port

EXPECTED = sum(d.item is not None for d in DROPS)


def start(config: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "binwatch", "edge", "run", "--config", str(config)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def committed(database: Path) -> list[tuple[str, str]]:
    if not database.exists():
        return []
    with sqlite3.connect(f"{database.as_uri()}?mode=ro", uri=True) as db:
        try:
            return db.execute("SELECT event_id, state FROM events").fetchall()
        except sqlite3.OperationalError:  # the schema is not there yet
            return []


def wait_for(condition, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def test_killed_restarted_and_the_collector_down_every_event_arrives_once(scene_video, tmp_path, collector):
    port = free_port()
    collector.down()
    collector.port = port
    database = tmp_path / "store" / "outbox.sqlite3"
    live, fast = tmp_path / "live.toml", tmp_path / "fast.toml"
    dump(scene.site(tmp_path, scene_video, url=f"http://127.0.0.1:{port}", camera={"realtime": True}), live)
    dump(scene.site(tmp_path, scene_video, url=f"http://127.0.0.1:{port}"), fast)

    # Run 1 plays the video in real time with nobody listening, and is killed after its first event.
    first = start(live)
    try:
        wait_for(lambda: committed(database), 30, "the first committed event")
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait()
    before_restart = {event_id for event_id, _ in committed(database)}
    assert before_restart and not collector.events

    # Run 2 processes the whole video; the collector answers 503 at first, then loses one answer.
    collector.fail_with = 503
    collector.up()
    second = start(fast)
    wait_for(lambda: len(committed(database)) > len(before_restart), 30, "run 2 to commit events")
    collector.fail_with = None
    collector.lose.update(POST=1)
    out, err = second.communicate(timeout=60)
    assert second.returncode == 0, err[-3000:]

    rows = committed(database)
    assert {state for _, state in rows} == {"delivered"}
    # Run 2 read the file from its start: the disposal run 1 committed came again under the id it had.
    assert len(rows) == EXPECTED and before_restart <= {event_id for event_id, _ in rows}
    assert set(collector.events) == {event_id for event_id, _ in rows}  # each stored once, none missing
    assert max(collector.posts.values()) == 2, err  # the lost answer was retried, and deduplicated
    for event_id, event in collector.events.items():
        declared = {e["kind"] for e in event["evidence"]}
        assert declared == {k for (e, k) in collector.evidence if e == event_id}
        if event["flags"]:
            assert declared == {k.value for k in EvidenceKind}
    flagged = [e for e in collector.events.values() if e["flags"]]
    assert len(flagged) >= 3
    assert list((tmp_path / "store" / "evidence").iterdir()) == []
    assert list((tmp_path / "store" / "tmp").iterdir()) == []

    logs = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
    assert any(entry.get("event_id") and entry.get("flags") for entry in logs)  # structured: fields as keys
    last_beat = collector.heartbeats[-1]  # sent on the way out
    assert last_beat.camera_state == "stopped" and last_beat.outbox_depth == 0 and "classify" in last_beat.stage_ms
    assert set(last_beat.fill_levels) == {"green-1", "blue-1", "grey-1"}  # every bin, once seen clear


def test_sigterm_stops_the_agent_cleanly(scene_video, tmp_path, collector):
    config = tmp_path / "site.toml"
    dump(scene.site(tmp_path, scene_video, url=collector.url, camera={"realtime": True}), config)
    process = start(config)
    wait_for(lambda: any(b.camera_state == "streaming" for b in collector.heartbeats), 30, "a streaming heartbeat")
    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=15)
    assert process.returncode == 0
    assert "received SIGTERM" in err and '"msg": "stopped:' in err
    beat = collector.heartbeats[-1]
    assert beat.device_id == "box-1" and beat.fps > 0 and beat.model_version and beat.uptime_s > 0
