"""Publishing to the city platform's MQTT broker, the way Frigate does (paho-mqtt).

Each message goes as JSON to ``<prefix>/<site_id>/events`` (``reviews``, ``work_orders``) at QoS 1:
it counts as delivered once the broker has acknowledged it (PUBACK). ``<prefix>/available`` is retained:
``online`` once connected, and ``offline`` set by the broker through the last will when the collector
goes away without a word, or published on a clean stop. paho reconnects by itself with backoff; while
it is not connected nothing is handed to it, so its own queue never holds what the database still does.
"""

from __future__ import annotations

import contextlib
import logging
import ssl
from urllib.parse import unquote, urlsplit

import paho.mqtt.client as mqtt

from binwatch.collector.db.tables import PlatformMessage
from binwatch.collector.platform.outcome import Outcome
from binwatch.events.platform import OFFLINE, ONLINE, availability_topic, topic

log = logging.getLogger(__name__)
KEEPALIVE_S = 30


class MqttSender:
    def __init__(self, url: str, prefix: str, client_id: str, timeout_s: float = 10.0):
        parts = urlsplit(url)
        if parts.scheme not in ("mqtt", "mqtts") or not parts.hostname:
            raise ValueError(f"{url!r} is not an mqtt:// or mqtts:// URL")
        self.host = parts.hostname
        self.port = parts.port or (8883 if parts.scheme == "mqtts" else 1883)
        self.prefix = prefix
        self.timeout_s = timeout_s
        self.client = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv311, clean_session=True
        )
        if parts.username:
            self.client.username_pw_set(unquote(parts.username), unquote(parts.password or ""))
        if parts.scheme == "mqtts":
            self.client.tls_set(tls_version=ssl.PROTOCOL_TLS_CLIENT)
        self.client.will_set(availability_topic(prefix), OFFLINE, qos=1, retain=True)
        self.client.reconnect_delay_set(1, 30)
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self._started = False

    def _on_connect(self, client, _userdata, _flags, reason_code, _properties) -> None:
        if reason_code.is_failure:
            log.warning("MQTT broker %s:%d refused the connection: %s", self.host, self.port, reason_code)
            return
        log.info("connected to the MQTT broker %s:%d", self.host, self.port)
        client.publish(availability_topic(self.prefix), ONLINE, qos=1, retain=True)

    def _on_disconnect(self, _client, _userdata, _flags, reason_code, _properties) -> None:
        if self._started:
            log.warning("lost the MQTT broker %s:%d (%s); reconnecting", self.host, self.port, reason_code)

    def start(self) -> None:
        if not self._started:
            self._started = True
            self.client.connect_async(self.host, self.port, keepalive=KEEPALIVE_S)
            self.client.loop_start()

    def deliver(self, message: PlatformMessage) -> Outcome:
        self.start()
        if not self.client.is_connected():
            return Outcome.retry(f"not connected to the MQTT broker {self.host}:{self.port}")
        info = self.client.publish(topic(self.prefix, message.site_id, message.type), message.payload, qos=1)
        try:
            info.wait_for_publish(self.timeout_s)
        except (RuntimeError, ValueError) as exc:
            return Outcome.retry(str(exc))
        if not info.is_published():
            return Outcome.retry(f"no acknowledgement from the broker within {self.timeout_s:g} s")
        return Outcome.ok()

    def stop(self, *, offline: bool) -> None:
        """Disconnect; ``offline``: first say so on the availability topic (a clean stop, not a hand-over)."""
        if not self._started:
            return
        self._started = False
        if offline and self.client.is_connected():
            info = self.client.publish(availability_topic(self.prefix), OFFLINE, qos=1, retain=True)
            with contextlib.suppress(RuntimeError, ValueError):
                info.wait_for_publish(2.0)
        self.client.disconnect()
        self.client.loop_stop()
