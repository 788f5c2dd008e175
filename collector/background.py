"""The collector's background work, done by one process at a time: publishing to the city platform,
raising the automatic work orders, forgetting what every target has received.

Every worker process (on every host) runs a ``Background``; the one that holds the ``background``
lease, a row in ``leases`` renewed every ``RENEW_S`` seconds, does the work, so messages go out once
and in order. When that process dies another takes over once the lease has run out (``LEASE_S``); a
clean stop hands it over at once.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import secrets
import socket
import threading
import time

from sqlalchemy import delete, exists, insert, update
from sqlalchemy.exc import IntegrityError

from binwatch.collector.db.engine import Database
from binwatch.collector.db.tables import DeliveryState, Lease, PlatformDelivery, PlatformMessage, utcnow
from binwatch.collector.platform.dispatch import Sender, TargetWorker
from binwatch.collector.platform.mqtt import MqttSender
from binwatch.collector.platform.webhooks import WebhookSender
from binwatch.collector.settings import Settings
from binwatch.collector.workorders import raise_automatic

log = logging.getLogger(__name__)

LEASE = "background"
LEASE_S = 30.0
RENEW_S = 5.0
DUTIES_S = 30.0


class Background:
    def __init__(self, db: Database, settings: Settings):
        self.db, self.settings = db, settings
        self.holder = f"{socket.gethostname()[:40]}:{os.getpid()}:{secrets.token_hex(4)}"
        self.stopping = threading.Event()
        self.leading = False
        self._workers: list[TargetWorker] = []
        self._work_stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start the background thread; an app served again (its lifespan run anew) starts a new one."""
        if self._thread is not None and self._thread.is_alive():
            return
        self.stopping = threading.Event()
        self._thread = threading.Thread(target=self.run, name="background", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self.stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=30)

    def run(self) -> None:
        last_duties = -DUTIES_S
        try:
            while not self.stopping.is_set():
                try:
                    holds = self.hold_lease()
                except Exception:
                    log.exception("could not renew the background lease")
                    holds = False
                if holds != self.leading:
                    self._lead() if holds else self._follow()
                if self.leading and time.monotonic() - last_duties >= DUTIES_S:
                    self.run_duties()
                    last_duties = time.monotonic()
                self.stopping.wait(RENEW_S)
        finally:
            if self.leading:
                self._follow()
                self.release_lease()

    def hold_lease(self, now: dt.datetime | None = None) -> bool:
        """Take or renew the lease; False while another process holds it."""
        now = now or utcnow()
        expires = now + dt.timedelta(seconds=LEASE_S)
        with self.db.write() as session:
            renewed = session.execute(
                update(Lease)
                .where(Lease.name == LEASE, (Lease.holder == self.holder) | (Lease.expires_at < now))
                .values(holder=self.holder, expires_at=expires)
            )
            if renewed.rowcount:  # type: ignore[attr-defined]
                return True
        try:
            with self.db.write() as session:
                session.execute(insert(Lease).values(name=LEASE, holder=self.holder, expires_at=expires))
        except IntegrityError:
            return False
        return True

    def release_lease(self) -> None:
        with self.db.write() as session:
            session.execute(update(Lease).where(Lease.holder == self.holder).values(expires_at=utcnow()))

    def run_duties(self, now: dt.datetime | None = None) -> None:
        """Automatic work orders, cancelled deliveries of webhooks no longer configured, pruning."""
        now = now or utcnow()
        s = self.settings
        try:
            if s.work_order_after_min > 0:
                with self.db.write() as session:
                    raised = raise_automatic(session, now, s.work_order_after_min, s.work_order_due_h)
                if raised:
                    log.info("raised %d work orders for littering and overflow left unresolved", len(raised))
            with self.db.write() as session:
                session.execute(
                    update(PlatformDelivery)
                    .where(
                        PlatformDelivery.state == DeliveryState.PENDING.value,
                        PlatformDelivery.target.not_in(s.publish_targets),
                    )
                    .values(state=DeliveryState.CANCELLED.value, last_error="no longer configured")
                )
                pending = exists().where(
                    PlatformDelivery.message_pk == PlatformMessage.id,
                    PlatformDelivery.state == DeliveryState.PENDING.value,
                )
                session.execute(
                    delete(PlatformMessage).where(
                        PlatformMessage.created_at < now - dt.timedelta(days=s.publish_keep_days), ~pending
                    )
                )
        except Exception:
            log.exception("background duties failed; trying again later")

    def _lead(self) -> None:
        log.info("this process (%s) now does the background work", self.holder)
        self.leading = True
        self._work_stop = threading.Event()
        s = self.settings
        senders: dict[str, Sender] = {hook.name: WebhookSender(hook) for hook in s.webhooks}
        if s.mqtt_url:
            senders["mqtt"] = MqttSender(s.mqtt_url, s.mqtt_topic_prefix, client_id=f"binwatch-{self.holder}")
        self._workers = [
            TargetWorker(self.db, target, sender, s.publish_retry_max_s, self._work_stop)
            for target, sender in senders.items()
        ]
        for worker in self._workers:
            worker.thread.start()

    def _follow(self) -> None:
        self.leading = False
        self._work_stop.set()
        for worker in self._workers:
            worker.thread.join(timeout=30)
        self._workers = []
