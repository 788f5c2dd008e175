"""A voice at the bin (语音提醒): the resident hears, the moment the verdict is in, that the item went wrong.

The agent hands every concluded verdict to ``Announcer.verdict``, which decides on the spot (the frame
loop's own time) whether to speak: the most important announced flag of the disposal, unless the same
flag was said within ``repeat_after_s`` (a queue of residents is not lectured once each), another
announcement within ``min_gap_s``, or it is a quiet hour. It never blocks: what is to be said goes into
a short queue, and a thread of its own says it through a ``Voice``. ``CommandVoice`` plays one sound
file per language with a command (``aplay`` by default); ``MqttVoice`` publishes the announcement on a
local MQTT topic for a separate speaker. An announcement that cannot start within ``max_delay_s`` is
dropped (a late one would be said to the next person), and a voice that fails is logged, never raised:
the agent goes on whatever the loudspeaker does.
"""

from __future__ import annotations

import json
import logging
import queue
import subprocess
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Protocol

from binwatch.edge.config import AnnounceConfig, BinConfig, ScheduleConfig, SiteConfig
from binwatch.edge.flags import within_hours
from binwatch.events.schema import Flag

log = logging.getLogger(__name__)

SOUNDS = Path(__file__).with_name("sounds")  # the shipped files, made by ``binwatch edge sounds``
QUEUE = 4
# What is said, per flag and language; the shipped sound files speak these words.
TEXTS: dict[Flag, dict[str, str]] = {
    Flag.MIXED_DISPOSAL: {
        "zh": "请注意，垃圾投错桶了，请按分类投放。",
        "en": "Please note: that item belongs in another bin.",
    },
    Flag.KITCHEN_CONTAMINATION: {
        "zh": "厨余垃圾请先去除塑料袋和餐具，再投放。",
        "en": "Please take bags and tableware out of kitchen waste.",
    },
    Flag.OFF_HOURS: {
        "zh": "现在不是投放时间，请在规定时间投放。",
        "en": "This is not a disposal time. Please come back in disposal hours.",
    },
}


class VoiceError(Exception):
    """The loudspeaker could not say it; logged by the announcer."""


@dataclass(frozen=True)
class Announcement:
    flag: Flag
    flags: tuple[Flag, ...]  # all the disposal's flags
    bin_id: str
    bin_category: str
    at: datetime  # when the verdict was concluded (the frame's time)
    handed_at: float  # time.monotonic() when the frame loop handed it over
    early: bool = False  # from the early verdict, as the item landed (``edge/early.py``), not the final one


class Voice(Protocol):
    def say(self, announcement: Announcement) -> float:
        """Say it; returns the time.monotonic() at which the sound started. Raises ``VoiceError``."""

    def close(self) -> None: ...


@dataclass(frozen=True)
class Spoken:
    announcement: Announcement
    started: float  # time.monotonic() when the voice started


class Announcer:
    def __init__(self, config: AnnounceConfig, voice: Voice, timezone: str):
        self.config, self.voice = config, voice
        self.quiet = ScheduleConfig(allowed_hours=config.quiet_hours, timezone=timezone)
        self.counts = {"handed": 0, "repeat": 0, "gap": 0, "quiet": 0, "full": 0, "stale": 0, "spoken": 0, "failed": 0}
        self.spoken: list[Spoken] = []  # the most recent, for tests and the latency benchmark
        self._said: dict[Flag, datetime] = {}
        self._last: datetime | None = None
        self._queue: queue.Queue[Announcement | None] = queue.Queue(QUEUE)
        self._failing = False
        self._thread = threading.Thread(target=self._run, name="announce", daemon=True)
        self._thread.start()

    def verdict(self, bin_config: BinConfig, flags: list[Flag], at: datetime, early: bool = False) -> bool:
        """From the frame loop, for every concluded disposal (``early``: for a disposal flagged as its
        item landed, whose final verdict is then not handed over); True when an announcement was queued."""
        flag = next((f for f in self.config.flags if f in flags), None)
        if flag is None:
            return False
        if self._quiet(at):
            return self._skip("quiet")
        last = self._said.get(flag)
        if last is not None and (at - last).total_seconds() < self.config.repeat_after_s:
            return self._skip("repeat")
        if self._last is not None and (at - self._last).total_seconds() < self.config.min_gap_s:
            return self._skip("gap")
        announcement = Announcement(flag, tuple(flags), bin_config.id, bin_config.category, at, time.monotonic(), early)
        try:
            self._queue.put_nowait(announcement)
        except queue.Full:
            return self._skip("full")
        self._said[flag] = self._last = at
        self.counts["handed"] += 1
        return True

    def close(self, timeout_s: float | None = None) -> None:
        """Say what is queued (dropping what has gone stale), then stop."""
        self._queue.put(None)
        self._thread.join(timeout=timeout_s if timeout_s is not None else self.config.timeout_s * QUEUE + 1)
        self.voice.close()

    def _skip(self, why: str) -> bool:
        self.counts[why] += 1
        return False

    def _quiet(self, at: datetime) -> bool:
        return bool(self.quiet.allowed_hours) and within_hours(at, self.quiet)

    def _run(self) -> None:
        while (announcement := self._queue.get()) is not None:
            late = time.monotonic() - announcement.handed_at
            if late > self.config.max_delay_s:
                self.counts["stale"] += 1
                log.info("announcement of %s dropped: %.1f s late", announcement.flag.value, late)
                continue
            try:
                started = self.voice.say(announcement)
            except Exception as exc:  # whatever the loudspeaker does, the agent goes on
                self.counts["failed"] += 1
                if not self._failing:
                    log.warning("the announcement could not be made (%s); the agent goes on", exc)
                self._failing = True
                continue
            if self._failing:
                log.info("announcements are heard again")
            self._failing = False
            self.counts["spoken"] += 1
            self.spoken = [*self.spoken[-999:], Spoken(announcement, started)]


class CommandVoice:
    """One sound file per language, played by ``command`` (``aplay -q {file}``), one after the other."""

    def __init__(self, config: AnnounceConfig):
        self.command, self.languages, self.timeout_s = config.command, config.languages, config.timeout_s
        self.sounds = config.sounds or SOUNDS

    def say(self, announcement: Announcement) -> float:
        started = None
        for lang in self.languages:
            file = self.sounds / f"{announcement.flag.value}.{lang}.wav"
            if not file.is_file():
                raise VoiceError(f"no sound file {file}")
            values = {"file": str(file), "flag": announcement.flag.value, "lang": lang}
            argv = [part.format(**values, text=TEXTS[announcement.flag][lang]) for part in self.command]
            try:
                player = subprocess.Popen(
                    argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
                )
            except OSError as exc:
                raise VoiceError(f"{argv[0]}: {exc.strerror or exc}") from None
            started = started or time.monotonic()
            try:
                _, err = player.communicate(timeout=self.timeout_s)
            except subprocess.TimeoutExpired:
                player.kill()
                player.communicate()
                raise VoiceError(f"{argv[0]} still playing after {self.timeout_s:g} s; stopped") from None
            if player.returncode != 0:
                raise VoiceError(f"{argv[0]} exited {player.returncode}: {err.decode(errors='replace').strip()[-200:]}")
        assert started is not None  # languages has at least one entry
        return started

    def close(self) -> None:
        pass


class MqttVoice:
    """The announcement as JSON on a local MQTT topic, for a speaker that says it in its own voice."""

    def __init__(self, config: AnnounceConfig, site_id: str, device_id: str):
        from urllib.parse import urlsplit

        import paho.mqtt.client as mqtt  # only a box that speaks over MQTT needs paho

        parts = urlsplit(config.mqtt_url)
        self.topic = config.mqtt_topic.format(site_id=site_id, device_id=device_id)
        self.site_id, self.device_id, self.timeout_s = site_id, device_id, config.timeout_s
        self.languages = config.languages
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"binwatch-announce-{device_id}")
        self.client.reconnect_delay_set(1, 30)
        self.client.connect_async(parts.hostname or "127.0.0.1", parts.port or 1883, keepalive=30)
        self.client.loop_start()

    def say(self, announcement: Announcement) -> float:
        if not self.client.is_connected():
            raise VoiceError(f"not connected to the MQTT broker for {self.topic}")
        payload = {
            "site_id": self.site_id,
            "device_id": self.device_id,
            "bin_id": announcement.bin_id,
            "bin_category": announcement.bin_category,
            "flag": announcement.flag.value,
            "flags": [f.value for f in announcement.flags],
            "text": {lang: TEXTS[announcement.flag][lang] for lang in self.languages},
            "at": announcement.at.isoformat(),
        }
        started = time.monotonic()
        info = self.client.publish(self.topic, json.dumps(payload, ensure_ascii=False), qos=1)
        try:
            info.wait_for_publish(self.timeout_s)
        except (RuntimeError, ValueError) as exc:
            raise VoiceError(str(exc)) from None
        if not info.is_published():
            raise VoiceError(f"the broker did not take the announcement within {self.timeout_s:g} s")
        return started

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


ESPEAK_VOICES = {"zh": "cmn", "en": "en"}


def make_sounds(out: Path, espeak: str = "espeak-ng", speed_wpm: int = 180) -> list[Path]:
    """Speak ``TEXTS`` into ``<flag>.<lang>.wav`` files in ``out`` with espeak-ng (how the shipped ones were made),
    at half espeak's 22,050 Hz: speech needs no more than a telephone's band, and the files ship with the box."""
    out.mkdir(parents=True, exist_ok=True)
    made = []
    for flag, texts in TEXTS.items():
        for lang, text in texts.items():
            file = out / f"{flag.value}.{lang}.wav"
            argv = [espeak, "-v", ESPEAK_VOICES[lang], "-s", str(speed_wpm), "-w", str(file), text]
            try:
                subprocess.run(argv, check=True, capture_output=True, timeout=60)
            except FileNotFoundError:
                raise VoiceError(f"{espeak} is not installed (apt-get install espeak-ng)") from None
            except subprocess.CalledProcessError as exc:
                raise VoiceError(f"{espeak} failed: {exc.stderr.decode(errors='replace').strip()}") from None
            _halve_rate(file)
            made.append(file)
    return made


def _halve_rate(file: Path) -> None:
    """Every two samples of a 16-bit mono WAV averaged into one (a low-pass and a decimation in one step)."""
    import wave

    import numpy as np

    with wave.open(str(file), "rb") as source:
        rate, width, channels = source.getframerate(), source.getsampwidth(), source.getnchannels()
        samples = np.frombuffer(source.readframes(source.getnframes()), dtype=np.int16)
    if (width, channels) != (2, 1):
        raise VoiceError(f"{file}: expected 16-bit mono from espeak-ng")
    pairs = samples[: len(samples) // 2 * 2].astype(np.int32).reshape(-1, 2)
    with wave.open(str(file), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate // 2)
        out.writeframes((pairs.sum(axis=1) // 2).astype(np.int16).tobytes())


def make_announcer(config: SiteConfig) -> Announcer | None:
    """The site's announcer, or None when ``announce.enabled`` is false."""
    settings = config.announce
    if not settings.enabled:
        return None
    voice: Voice = (
        MqttVoice(settings, config.site_id, config.device_id) if settings.voice == "mqtt" else CommandVoice(settings)
    )
    return Announcer(settings, voice, config.schedule.timezone)
