"""A short memory of what every ingest request looks up: device tokens, the bins and zones of a site.

Each entry lives ``ttl_s`` seconds (``AUTH_CACHE_S``, 5 by default), so a hot ingest path reads
the database only to write. Changes made through this process (a revoked or replaced token,
new bins) are forgotten at once. Every other worker process, on any host, sees them once its
entry runs out: a token revoked at time t is refused everywhere from t + ``ttl_s`` on (plus
the time of one database read, for a lookup that was in flight at t). With ``ttl_s`` = 0
nothing is remembered and a change applies to the next request on every worker.
"""

from __future__ import annotations

import threading
import time

from sqlalchemy import bindparam, select

from binwatch.collector.auth import DeviceIdentity, find_device
from binwatch.collector.credentials import token_digest
from binwatch.collector.db.engine import Database
from binwatch.collector.db.tables import Bin, Zone

MAX_ENTRIES = 10_000
_BINS_OF_SITE = select(Bin.id, Bin.category).where(Bin.site_id == bindparam("site_id"))
_ZONES_OF_SITE = select(Zone.id, Zone.kind).where(Zone.site_id == bindparam("site_id"))


class Lookups:
    def __init__(self, db: Database, ttl_s: float = 5.0, clock=time.monotonic):
        self.db = db
        self.ttl_s = ttl_s
        self._clock = clock
        self._devices: dict[str, tuple[float, DeviceIdentity]] = {}
        self._bins: dict[str, tuple[float, dict[str, str]]] = {}
        self._zones: dict[str, tuple[float, dict[str, str]]] = {}
        self._lock = threading.Lock()

    def _fresh(self, table: dict, key: str):
        entry = table.get(key)
        if entry is not None and entry[0] > self._clock():
            return entry[1]
        return None

    def _remember(self, table: dict, key: str, value) -> None:
        if self.ttl_s <= 0:
            return
        with self._lock:
            if len(table) >= MAX_ENTRIES:
                table.clear()
            table[key] = (self._clock() + self.ttl_s, value)

    def cached_device(self, token: str) -> DeviceIdentity | None:
        """The device of ``token`` if it is remembered; None means: ask ``device``."""
        return self._fresh(self._devices, token_digest(token))

    def device(self, token: str) -> DeviceIdentity | None:
        digest = token_digest(token)
        found = self._fresh(self._devices, digest)
        if found is None:
            with self.db.read_engine.connect() as connection:
                found = find_device(connection, token)
            if found is not None:
                self._remember(self._devices, digest, found)
        return found

    def cached_bins(self, site_id: str) -> dict[str, str] | None:
        return self._fresh(self._bins, site_id)

    def bins(self, site_id: str) -> dict[str, str]:
        """Bin id → category."""
        return self._of_site(self._bins, _BINS_OF_SITE, site_id)

    def cached_zones(self, site_id: str) -> dict[str, str] | None:
        return self._fresh(self._zones, site_id)

    def zones(self, site_id: str) -> dict[str, str]:
        """Zone id → kind (``ground``, ``collection``)."""
        return self._of_site(self._zones, _ZONES_OF_SITE, site_id)

    def _of_site(self, table: dict, statement, site_id: str) -> dict[str, str]:
        found = self._fresh(table, site_id)
        if found is None:
            with self.db.read_engine.connect() as connection:
                found = dict(connection.execute(statement, {"site_id": site_id}).all())
            self._remember(table, site_id, found)
        return found

    def forget_device(self, device_id: str) -> None:
        with self._lock:
            for digest in [d for d, (_, ident) in self._devices.items() if ident.id == device_id]:
                del self._devices[digest]

    def forget_site(self, site_id: str) -> None:
        with self._lock:
            self._bins.pop(site_id, None)
            self._zones.pop(site_id, None)
