"""The voice at the bin: a real player command (a script that records what it was asked to play) and a real
mosquitto; which flag is said, the rate limits, quiet hours, a player that fails or hangs, and the agent on
a rendered scene, whose frame loop is never held up by the loudspeaker."""

from __future__ import annotations

import json
import logging
import stat
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from binwatch.edge.announce import SOUNDS, TEXTS, Announcer, CommandVoice, MqttVoice, make_announcer
from binwatch.edge.config import AnnounceConfig, BinConfig, ConfigError, parse
from binwatch.edge.offline import OFFLINE_START, run_offline
from binwatch.events.schema import Flag
from tests.edge import scene
from tests.edge.conftest import DROPS
from tests.mosquitto import Broker, Subscriber

KITCHEN = BinConfig(id="k1", category="kitchen", polygon=[(0, 0), (10, 0), (10, 10)])
AT = datetime(2026, 5, 18, 9, 0, tzinfo=timezone(timedelta(hours=8)))
MIXED, KITCHEN_BAGS, OFF = Flag.MIXED_DISPOSAL, Flag.KITCHEN_CONTAMINATION, Flag.OFF_HOURS


def player(folder: Path, body: str = "") -> Path:
    """A player script: records its arguments in ``played.log``, then does ``body``."""
    script = folder / "player.sh"
    script.write_text(f'#!/bin/sh\nprintf "%s\\n" "$*" >> "{folder}/played.log"\n{body}\n')
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return script


def played(folder: Path) -> list[str]:
    log = folder / "played.log"
    return log.read_text().splitlines() if log.exists() else []


def announcer(folder: Path, body: str = "", **settings) -> Announcer:
    config = AnnounceConfig(enabled=True, command=[str(player(folder, body)), "{file}", "{flag}", "{lang}"], **settings)
    return Announcer(config, CommandVoice(config), "Asia/Shanghai")


def wait_for(condition, timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_the_most_important_flag_is_played_in_each_language(tmp_path):
    voice = announcer(tmp_path)
    assert voice.verdict(KITCHEN, [MIXED, KITCHEN_BAGS], AT)
    assert not voice.verdict(KITCHEN, [], AT + timedelta(minutes=5))  # a compliant disposal says nothing
    assert not voice.verdict(KITCHEN, [Flag.UNCERTAIN], AT + timedelta(minutes=6))  # nor does a doubt
    voice.close()
    assert played(tmp_path) == [
        f"{SOUNDS}/kitchen_contamination.zh.wav kitchen_contamination zh",
        f"{SOUNDS}/kitchen_contamination.en.wav kitchen_contamination en",
    ]
    assert voice.counts["spoken"] == 1 and voice.spoken[0].announcement.bin_id == "k1"


def test_the_shipped_sounds_are_there_for_every_flag_and_language():
    for flag in TEXTS:
        for lang in ("zh", "en"):
            data = (SOUNDS / f"{flag.value}.{lang}.wav").read_bytes()
            assert data[:4] == b"RIFF" and data[8:12] == b"WAVE" and len(data) > 20_000


def test_a_queue_of_residents_is_not_lectured_once_each(tmp_path):
    voice = announcer(tmp_path, repeat_after_s=30, min_gap_s=4)
    said = [
        voice.verdict(KITCHEN, [MIXED], AT),  # said
        voice.verdict(KITCHEN, [OFF], AT + timedelta(seconds=2)),  # another flag, but too soon
        voice.verdict(KITCHEN, [MIXED], AT + timedelta(seconds=10)),  # the same flag again: not yet
        voice.verdict(KITCHEN, [OFF], AT + timedelta(seconds=11)),  # said
        voice.verdict(KITCHEN, [MIXED], AT + timedelta(seconds=31)),  # said: 30 s have passed
    ]
    voice.close()
    assert said == [True, False, False, True, True]
    assert (voice.counts["gap"], voice.counts["repeat"], voice.counts["spoken"]) == (1, 1, 3)
    assert [line.split()[1] for line in played(tmp_path)[::2]] == ["mixed_disposal", "off_hours", "mixed_disposal"]


def test_nothing_is_said_in_quiet_hours(tmp_path):
    voice = announcer(tmp_path, quiet_hours=["22:00-07:00"])
    night, morning = AT.replace(hour=23, minute=30), AT.replace(hour=7)
    assert not voice.verdict(KITCHEN, [OFF], night)
    assert not voice.verdict(KITCHEN, [OFF], night + timedelta(hours=6))  # 05:30, still quiet
    assert voice.verdict(KITCHEN, [OFF], morning)
    voice.close()
    assert voice.counts["quiet"] == 2 and len(played(tmp_path)) == 2


def test_the_frame_loop_is_never_held_up_by_the_player(tmp_path):
    release = tmp_path / "release"
    voice = announcer(tmp_path, body=f'while [ ! -e "{release}" ]; do sleep 0.05; done', max_delay_s=60)
    assert voice.verdict(KITCHEN, [MIXED], AT)
    wait_for(lambda: len(played(tmp_path)) == 1)  # the player has started and is still playing …
    assert voice.verdict(KITCHEN, [OFF], AT + timedelta(seconds=5))  # … and the frame loop goes on
    for i in range(10):  # a burst beyond the queue is dropped, never waited for
        voice.verdict(KITCHEN, [KITCHEN_BAGS], AT + timedelta(minutes=i + 1))
    assert voice.counts["full"] > 0
    release.touch()
    voice.close()
    assert voice.counts["spoken"] >= 2


def test_an_announcement_too_late_is_dropped(tmp_path):
    voice = announcer(tmp_path, body="sleep 1.5", max_delay_s=0.5, min_gap_s=0)
    voice.verdict(KITCHEN, [MIXED], AT)
    voice.verdict(KITCHEN, [OFF], AT + timedelta(seconds=1))  # waits behind a 2 × 1.5 s announcement
    voice.close()
    assert (voice.counts["spoken"], voice.counts["stale"]) == (1, 1)


@pytest.mark.parametrize(
    ("command", "settings", "error"),
    [
        (["/nonexistent/aplay", "{file}"], {}, "No such file"),
        (["sh", "-c", "echo no sound card >&2; exit 1"], {}, "exited 1: no sound card"),
        (["sleep", "30"], {"timeout_s": 0.3}, "still playing"),
        (["true"], {"sounds": "missing-folder"}, "no sound file"),
    ],
)
def test_a_failing_player_is_logged_once_and_never_raised(tmp_path, caplog, command, settings, error):
    settings = {k: tmp_path / v if k == "sounds" else v for k, v in settings.items()}
    config = AnnounceConfig(enabled=True, command=command, min_gap_s=0, **settings)
    voice = Announcer(config, CommandVoice(config), "Asia/Shanghai")
    with caplog.at_level(logging.WARNING, logger="binwatch.edge.announce"):
        assert voice.verdict(KITCHEN, [MIXED], AT)
        assert voice.verdict(KITCHEN, [OFF], AT + timedelta(seconds=1))
        wait_for(lambda: voice.counts["failed"] == 2)
        voice.close()
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and error in warnings[0]  # once per outage, not once per announcement


def test_after_a_failure_the_next_announcement_is_heard(tmp_path, caplog):
    marker = tmp_path / "failed-once"
    voice = announcer(tmp_path, body=f'if [ ! -e "{marker}" ]; then touch "{marker}"; exit 3; fi', min_gap_s=0)
    with caplog.at_level(logging.INFO, logger="binwatch.edge.announce"):
        voice.verdict(KITCHEN, [MIXED], AT)
        wait_for(lambda: voice.counts["failed"] == 1)
        voice.verdict(KITCHEN, [OFF], AT + timedelta(seconds=1))
        voice.close()
    assert voice.counts["spoken"] == 1 and voice.spoken[0].announcement.flag is OFF
    assert "heard again" in caplog.text


def test_the_mqtt_voice_tells_a_separate_speaker(tmp_path):
    broker = Broker(tmp_path / "broker").start()
    subscriber = Subscriber(broker.port, "binwatch/+/announce")
    config = AnnounceConfig(enabled=True, voice="mqtt", mqtt_url=broker.url)
    voice = Announcer(config, MqttVoice(config, "site-1", "box-1"), "Asia/Shanghai")
    try:
        wait_for(lambda: voice.voice.client.is_connected())  # type: ignore[attr-defined]
        assert voice.verdict(KITCHEN, [MIXED, KITCHEN_BAGS], AT)
        subscriber.wait_until(lambda s: len(s.messages) == 1)
        topic, payload, _ = subscriber.messages[0]
        message = json.loads(payload)
        assert topic == "binwatch/site-1/announce"
        assert message["flag"] == "kitchen_contamination" and message["flags"] == [
            "mixed_disposal",
            "kitchen_contamination",
        ]
        assert message["text"]["zh"] == TEXTS[KITCHEN_BAGS]["zh"] and message["bin_id"] == "k1"
        broker.stop()  # the speaker's broker goes away: logged, not raised
        wait_for(lambda: not voice.voice.client.is_connected())  # type: ignore[attr-defined]
        assert voice.verdict(KITCHEN, [OFF], AT + timedelta(minutes=1))
        wait_for(lambda: voice.counts["failed"] == 1)
    finally:
        voice.close()
        subscriber.close()
        broker.stop()


def test_the_agent_announces_flagged_disposals_as_they_are_concluded(scene_video, tmp_path):
    config = scene.site(tmp_path, scene_video)
    voice = announcer(tmp_path, repeat_after_s=0, min_gap_s=0)
    run_offline(config, scene_video, announcer=voice)
    voice.close()
    expected = [(t, d) for t, d in zip(scene.truth(DROPS, config), DROPS, strict=False) if t["flags"]]
    assert [line.split()[1] for line in played(tmp_path)[::2]] == [
        "mixed_disposal",  # the battery in the grey bin
        "kitchen_contamination",  # the plastic bag in the green bin
        "mixed_disposal",  # the bottle in the grey bin
    ]
    for spoken, (truth, _drop) in zip(voice.spoken, expected, strict=True):
        landed = OFFLINE_START + timedelta(seconds=truth["t"])
        assert spoken.announcement.bin_id == truth["bin_id"]
        assert timedelta(0) < spoken.announcement.at - landed < timedelta(seconds=4)


def test_the_defaults_say_the_first_and_hold_back_the_rest(scene_video, tmp_path):
    config = scene.site(tmp_path, scene_video)
    voice = announcer(tmp_path)  # repeat after 30 s, 4 s between announcements
    run_offline(config, scene_video, announcer=voice)
    voice.close()
    assert voice.counts["spoken"] == 1 and voice.counts["gap"] == 1 and voice.counts["repeat"] == 1


def test_site_toml_turns_it_on(tmp_path, scene_video):
    base = scene.site(tmp_path, scene_video).model_dump(mode="json", exclude_none=True)
    assert make_announcer(parse(base)) is None
    on = parse(
        {**base, "announce": {"enabled": True, "sounds": "voice", "quiet_hours": ["22:00-06:30"]}}, base=tmp_path
    )
    made = make_announcer(on)
    assert made is not None and isinstance(made.voice, CommandVoice) and made.voice.sounds == tmp_path / "voice"
    made.close()
    for bad, message in [
        ({"flags": ["uncertain"]}, "only violations are announced"),
        ({"quiet_hours": ["22:00"]}, "not HH:MM-HH:MM"),
        ({"voice": "speaker"}, "announce.voice"),
        ({"mqtt_url": "http://x"}, "announce.mqtt_url"),
    ]:
        with pytest.raises(ConfigError, match=message):
            parse({**base, "announce": bad})
