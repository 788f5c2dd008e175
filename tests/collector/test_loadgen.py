"""The load generator: loopback only, bounded, and counting what it got."""

from __future__ import annotations

import asyncio
import json

import pytest

from benchmarks.collector_loadgen import FleetLoad, NotLoopback, SimDevice, loopback_target, main, run, run_fleet


@pytest.mark.parametrize(
    "url",
    [
        "http://10.0.0.1:80",
        "http://example.com",
        "https://127.0.0.1:8443",
        "http://192.168.1.10:8080",
        "ftp://127.0.0.1",
    ],
)
def test_refuses_anything_but_loopback(url):
    with pytest.raises(NotLoopback):
        loopback_target(url)
    with pytest.raises(SystemExit):
        main(["--url", url, "--target", "health", "--requests", "1"])


@pytest.mark.parametrize("url", ["http://127.0.0.1:8080", "http://localhost:1", "http://[::1]:9", "http://127.9.9.9"])
def test_accepts_loopback(url):
    loopback_target(url)


def test_posts_events_within_its_bounds(live_server):
    world = live_server.world
    devices = [SimDevice(d, "site-a", world.device_tokens[d], "k1", "kitchen") for d in ("dev-a", "dev-a2")]
    results = asyncio.run(run(live_server.url, devices, target="events", requests=60, duration=20))
    summary = results.summary()
    assert summary["requests"] == 60 and summary["statuses"] == {"201": 60} and summary["p99_ms"] > 0
    stats = world.client.get("/api/v1/stats", headers=world.user()).json()
    assert stats["total"]["disposals"] == 60


def test_stops_at_the_time_limit(live_server, capsys):
    assert (
        main(
            [
                "--url",
                live_server.url,
                "--target",
                "health",
                "--devices",
                "2",
                "--requests",
                "10000000",
                "--duration",
                "0.5",
            ]
        )
        == 0
    )
    summary = json.loads(capsys.readouterr().out)
    assert summary["elapsed_s"] < 5 and summary["statuses"].keys() == {"200"}


def test_resends_post_each_copy_and_record_the_answers(live_server, tmp_path, capsys):
    """At-least-once delivery: re-sent copies go out at once on two connections; one is stored, one is a duplicate."""
    world = live_server.world
    devices_file = tmp_path / "devices.json"
    devices_file.write_text(
        json.dumps(
            [
                {
                    "device_id": d,
                    "site_id": "site-a",
                    "token": world.device_tokens[d],
                    "bin_id": "k1",
                    "bin_category": "kitchen",
                }
                for d in ("dev-a", "dev-a2")
            ]
        )
    )
    answers_file = tmp_path / "answers.json"
    argv = ["--url", live_server.url, "--devices-file", str(devices_file), "--devices", "2", "--requests", "40"]
    assert main([*argv, "--resend", "1", "--answers-file", str(answers_file)]) == 0
    summary = json.loads(capsys.readouterr().out)
    answers = json.loads(answers_file.read_text())
    assert summary["requests"] == 40 and summary["events"] == 20 and summary["resent"] == 20
    assert summary["statuses"] == {"200": 20, "201": 20} and len(answers) == 20
    assert all(sorted(statuses) == [200, 201] for statuses in answers.values())
    stats = world.client.get("/api/v1/stats", headers=world.user()).json()
    assert stats["total"]["disposals"] == 20


def test_a_fleet_keeps_its_timetable_and_uploads_the_evidence(live_server):
    """Open loop: heartbeats and disposals at their rates; flagged disposals with three files, the others their crop."""
    world = live_server.world
    devices = [SimDevice(d, "site-a", world.device_tokens[d], "k1", "kitchen") for d in ("dev-a", "dev-a2")]
    load = FleetLoad(
        heartbeat_s=1.0, disposals_per_hour=7200, flagged=0.5, snapshot_bytes=3000, crop_bytes=800, clip_bytes=9000
    )
    results = asyncio.run(run_fleet(live_server.url, devices, load, requests=10_000, duration=4.0, seed=3))
    summary = results.summary()
    assert results.errors == 0 and results.missed == 0 and set(summary["statuses"]) <= {"200", "201"}
    assert summary["kinds"]["heartbeat"]["requests"] == pytest.approx(2 * 4, abs=2)  # one a second per box
    assert 4 <= results.events <= 40  # 2 boxes x 2 a second x 4 s, drawn at random
    events = world.client.get("/api/v1/events", params={"limit": 200}, headers=world.user()).json()["events"]
    assert len(events) == results.events
    stored = 0
    for event in events:
        detail = world.client.get(f"/api/v1/events/{event['event_id']}", headers=world.user()).json()
        kinds = {e["kind"] for e in detail["evidence"] if e["uploaded"]}
        assert kinds == ({"snapshot", "crop", "clip"} if event["flags"] else {"crop"})
        stored += sum(e["size"] for e in detail["evidence"])
    assert results.evidence_bytes == stored and summary["evidence_mb_per_s"] > 0
    assert summary["kinds"]["evidence"]["requests"] == sum(3 if e["flags"] else 1 for e in events)


def test_a_fleet_from_the_command_line_is_bounded(live_server, tmp_path, capsys):
    world = live_server.world
    devices_file = tmp_path / "devices.json"
    devices_file.write_text(
        json.dumps(
            [
                {
                    "device_id": "dev-a",
                    "site_id": "site-a",
                    "token": world.device_tokens["dev-a"],
                    "bin_id": "k1",
                    "bin_category": "kitchen",
                }
            ]
        )
    )
    argv = ["--url", live_server.url, "--target", "fleet", "--devices-file", str(devices_file), "--devices", "1"]
    assert main([*argv, "--heartbeat-s", "0.1", "--requests", "7", "--duration", "30"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert (
        summary["requests"] == 7
        and summary["elapsed_s"] < 10
        and summary["offered_events_per_s"] == round(200 / 3600, 2)
    )
    with pytest.raises(SystemExit):
        main([*argv, "--evidence-bytes", "1,2"])
    with pytest.raises(SystemExit):
        main([*argv, "--flagged", "2"])
