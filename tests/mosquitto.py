"""A real MQTT broker for the tests: Debian's mosquitto on a free loopback port, and a subscriber that records.

``.ci/system-packages.sh`` installs mosquitto; without it the tests that need a broker are skipped and
say why. The broker keeps its sessions across a restart when ``persistent`` (a subscriber with a
persistent session then gets what was published while it was away), which lets a test take the
broker down for a while without racing a reconnecting client.
"""

from __future__ import annotations

import getpass
import json
import shutil
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest

from tests.servers import free_port

MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"


def need_mosquitto() -> None:
    if not Path(MOSQUITTO).exists():
        pytest.skip("Debian's mosquitto is not installed (apt-get install mosquitto; .ci/system-packages.sh does)")


class Broker:
    def __init__(self, folder: Path, *, persistent: bool = False):
        need_mosquitto()
        self.folder = folder
        self.port = free_port()
        self.process: subprocess.Popen | None = None
        folder.mkdir(parents=True, exist_ok=True)
        lines = [
            f"listener {self.port} 127.0.0.1",
            "allow_anonymous true",
            f"user {getpass.getuser()}",  # started as root it would switch to `mosquitto`, who cannot write here
            f"persistence {str(persistent).lower()}",
        ]
        if persistent:
            lines += [f"persistence_location {folder}/", "autosave_interval 1"]
        self.config = folder / "mosquitto.conf"
        self.config.write_text("\n".join(lines) + "\n")

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    def start(self, timeout_s: float = 10.0) -> Broker:
        log = (self.folder / "mosquitto.log").open("ab")
        self.process = subprocess.Popen([MOSQUITTO, "-c", str(self.config)], stdout=log, stderr=log)
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return self
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    log_text = (self.folder / "mosquitto.log").read_text()
                    raise RuntimeError(f"mosquitto did not start: {log_text}") from None
                time.sleep(0.05)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)  # it saves its sessions on the way out
            self.process.wait(timeout=10)
        self.process = None


class Subscriber:
    """A client that records every message under ``topic``; ``session`` names a persistent session."""

    def __init__(self, port: int, topic: str = "#", session: str | None = None):
        self.messages: list[tuple[str, bytes, bool]] = []
        self.lock = threading.Lock()
        self.subscribed = threading.Event()
        self.topic = topic
        self.client = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2,
            client_id=session or "",
            clean_session=session is None,
            protocol=mqtt.MQTTv311,
        )
        self.client.on_connect = lambda c, *_: c.subscribe(self.topic, qos=1)
        self.client.on_subscribe = lambda *_: self.subscribed.set()
        self.client.on_message = self._record
        self.client.connect("127.0.0.1", port, keepalive=30)
        self.client.loop_start()
        if not self.subscribed.wait(10):
            raise RuntimeError("the subscriber could not subscribe")

    def _record(self, _client, _userdata, message) -> None:
        with self.lock:
            self.messages.append((message.topic, message.payload, bool(message.retain)))

    def json(self, prefix: str = "") -> list[tuple[str, dict]]:
        with self.lock:
            return [(t, json.loads(p)) for t, p, _ in self.messages if t.startswith(prefix) and p.startswith(b"{")]

    def wait_until(self, done: Callable[[Subscriber], bool], timeout_s: float = 20.0) -> None:
        deadline = time.monotonic() + timeout_s
        while not done(self):
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out; got {len(self.messages)} messages: {self.messages[-5:]}")
            time.sleep(0.05)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()
