"""The load generator: loopback only, bounded, and counting what it got."""

from __future__ import annotations

import asyncio
import json

import pytest

from benchmarks.collector_loadgen import NotLoopback, SimDevice, loopback_target, main, run


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
