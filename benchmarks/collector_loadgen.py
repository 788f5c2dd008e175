"""Load generator for the collector: many simulated devices posting events over loopback.

Bounded twice, by ``--requests`` and by ``--duration``, and refuses any address that is not
loopback. It speaks HTTP/1.1 over plain asyncio streams with keep-alive (one connection per
simulated device), so that the client costs as little CPU as possible next to the server
on the same machine.

Edge boxes deliver at least once: a box that gets no answer posts the same event again,
possibly over a new connection while the first copy is still being stored. ``--resend``
imitates this: that fraction of the events is posted twice at once, over two connections of
the same device, so that with several workers both copies may be handled by different
processes. ``--answers-file`` writes every event id with the statuses its copies got, to
check against the database afterwards.

``--target fleet`` is an open loop instead: each simulated box keeps to a timetable, a
heartbeat every ``--heartbeat-s`` and disposals at random (Poisson) at ``--disposals-per-hour``,
a ``--flagged`` share of them with a snapshot, a crop and a clip uploaded after the event, the
others with their crop, as the edge agent sends them. Latency is counted from the moment the
box meant to send, so a collector that falls behind shows in it (no coordinated omission); a
box still behind its timetable at the end of ``--duration`` stops, and what it did not send
is counted as ``missed``.

    python benchmarks/collector_loadgen.py --url http://127.0.0.1:8080 --devices-file devices.json \\
        --requests 20000 --duration 30 [--resend 0.5 --answers-file answers.json]
    python benchmarks/collector_loadgen.py --url http://127.0.0.1:8080 --devices-file devices.json \\
        --target fleet --devices 500 --duration 60 --requests 100000
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import gc
import hashlib
import ipaddress
import json
import random
import statistics
import sys
import time
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

ITEMS = (("plastic_bottle", "recyclable"), ("food_waste", "kitchen"), ("battery", "hazardous"), ("broom", "other"))


class NotLoopback(ValueError):
    pass


def loopback_target(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    if parts.scheme != "http" or not parts.hostname:
        raise NotLoopback(f"{url}: only http://<loopback address>:<port> is allowed")
    host = parts.hostname
    if host != "localhost":
        try:
            if not ipaddress.ip_address(host).is_loopback:
                raise NotLoopback(f"{host} is not a loopback address; this generator only loads this machine")
        except ValueError:
            raise NotLoopback(f"{host} is not a loopback address; this generator only loads this machine") from None
    return host, parts.port or 80


@dataclass
class SimDevice:
    device_id: str
    site_id: str
    token: str
    bin_id: str
    bin_category: str


def percentiles(latencies_ms: list[float]) -> dict:
    lat = sorted(latencies_ms)

    def pct(p: float) -> float | None:
        return round(lat[min(len(lat) - 1, int(p * len(lat)))], 2) if lat else None

    return {
        "p50_ms": pct(0.50),
        "p90_ms": pct(0.90),
        "p99_ms": pct(0.99),
        "max_ms": round(lat[-1], 2) if lat else None,
        "mean_ms": round(statistics.fmean(lat), 2) if lat else None,
    }


@dataclass
class Results:
    latencies_ms: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    errors: int = 0
    elapsed_s: float = 0.0
    events: int = 0  # distinct events posted
    resent: int = 0  # of which posted a second time
    answers: dict[str, list[int]] | None = None  # event id -> the statuses of its copies, when recorded
    kinds: dict[str, list[float]] = field(default_factory=dict)  # fleet: latencies by request kind
    evidence_bytes: int = 0  # fleet: bytes of evidence files stored (201)
    missed: int = 0  # fleet: heartbeats and disposals due before the end that a box, behind, never sent

    def summary(self) -> dict:
        ok = sum(n for s, n in self.statuses.items() if 200 <= s < 300)
        summary = {
            "requests": len(self.latencies_ms),
            "ok": ok,
            "statuses": {str(k): v for k, v in sorted(self.statuses.items())},
            "connection_errors": self.errors,
            "events": self.events,
            "resent": self.resent,
            "elapsed_s": round(self.elapsed_s, 3),
            "ok_per_s": round(ok / self.elapsed_s, 1) if self.elapsed_s else 0.0,
            **percentiles(self.latencies_ms),
        }
        if self.kinds:
            summary["events_per_s"] = round(self.events / self.elapsed_s, 2) if self.elapsed_s else 0.0
            summary["evidence_mb_per_s"] = (
                round(self.evidence_bytes / 1e6 / self.elapsed_s, 3) if self.elapsed_s else 0.0
            )
            summary["kinds"] = {kind: {"requests": len(lat), **percentiles(lat)} for kind, lat in self.kinds.items()}
            summary["missed"] = self.missed
        return summary


def disposal(device: SimDevice, item: str, category: str, flags: list[str], evidence: list[dict]) -> tuple[str, bytes]:
    """A new disposal at ``device``'s bin: its id and its JSON body."""
    start = dt.datetime.now(dt.UTC)
    event_id = str(uuid.uuid4())
    event = {
        "event_id": event_id,
        "device_id": device.device_id,
        "site_id": device.site_id,
        "bin_id": device.bin_id,
        "bin_category": device.bin_category,
        "started_at": start.isoformat(),
        "ended_at": (start + dt.timedelta(seconds=2)).isoformat(),
        "prediction": {"item": item, "item_score": 0.9, "category": category, "category_score": 0.95},
        "flags": flags,
        "model_version": "loadgen",
        "evidence": evidence,
    }
    return event_id, json.dumps(event).encode()


def event_body(device: SimDevice, rng: random.Random) -> tuple[str, bytes]:
    """A new event of ``device`` declaring a crop it never uploads: its id and its JSON body."""
    item, category = rng.choice(ITEMS)
    flags = ["mixed_disposal"] if category != device.bin_category and rng.random() < 0.5 else []
    return disposal(
        device, item, category, flags, [{"kind": "crop", "name": "crop.jpg", "sha256": "0" * 64, "size": 12000}]
    )


class Connection:
    """One keep-alive HTTP/1.1 connection; just enough of the protocol for JSON answers."""

    def __init__(self, host: str, port: int):
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(
        self,
        method: str,
        path: str,
        body: bytes = b"",
        token: str | None = None,
        content_type: str = "application/json",
    ) -> int:
        if self.reader is not None and self.reader.at_eof():
            await self.close()  # the server closed it while it was idle (keep-alive timeout)
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        head = [f"{method} {path} HTTP/1.1", f"Host: {self.host}:{self.port}", f"Content-Length: {len(body)}"]
        if body:
            head.append(f"Content-Type: {content_type}")
        if token:
            head.append(f"Authorization: Bearer {token}")
        self.writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + body)
        status_line = await self.reader.readline()
        if not status_line:
            raise ConnectionError("server closed the connection")
        status = int(status_line.split()[1])
        length, close = 0, False
        while (line := await self.reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            name = name.strip().lower()
            if name == "content-length":
                length = int(value)
            elif name == "connection" and value.strip().lower() == "close":
                close = True
        if length:
            await self.reader.readexactly(length)
        if close:
            await self.close()
        return status

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.reader = self.writer = None


async def run(
    url: str,
    devices: list[SimDevice],
    *,
    target: str,
    requests: int,
    duration: float,
    seed: int = 0,
    resend: float = 0.0,
    record: bool = False,
) -> Results:
    """Run the devices until ``requests`` requests are made or ``duration`` seconds pass.

    ``resend``: the fraction of events posted twice at once, over two connections of the device
    (each copy counts as a request). ``record``: keep the statuses of every event's copies in
    ``Results.answers``; a copy lost to a connection error has no status there.
    """
    if not 0.0 <= resend <= 1.0:
        raise ValueError("resend is a fraction, 0 to 1")
    host, port = loopback_target(url)
    base = urlsplit(url).path.rstrip("/")
    results = Results(answers={} if record else None)
    budget = {"left": requests}
    deadline = time.perf_counter() + duration

    async def send(conn: Connection, method: str, path: str, body: bytes, token: str | None, event_id: str) -> None:
        t0 = time.perf_counter()
        try:
            status = await conn.request(method, path, body, token)
        except (OSError, ConnectionError, asyncio.IncompleteReadError, ValueError):
            results.errors += 1
            await conn.close()
            return
        results.latencies_ms.append((time.perf_counter() - t0) * 1000)
        results.statuses[status] = results.statuses.get(status, 0) + 1
        if results.answers is not None and event_id:
            results.answers[event_id].append(status)

    async def device_loop(device: SimDevice, rng: random.Random) -> None:
        connections = [Connection(host, port), Connection(host, port)]  # the second one only for re-sends
        try:
            while budget["left"] > 0 and time.perf_counter() < deadline:
                if target != "events":
                    budget["left"] -= 1
                    await send(connections[0], "GET", f"{base}/api/v1/health", b"", None, "")
                    continue
                event_id, body = event_body(device, rng)
                copies = 2 if resend and budget["left"] >= 2 and rng.random() < resend else 1
                budget["left"] -= copies
                results.events += 1
                results.resent += copies - 1
                if results.answers is not None:
                    results.answers[event_id] = []
                path = f"{base}/api/v1/events"
                await asyncio.gather(
                    *(send(connections[i], "POST", path, body, device.token, event_id) for i in range(copies))
                )
        finally:
            for conn in connections:
                await conn.close()

    started = time.perf_counter()
    await asyncio.gather(*(device_loop(d, random.Random(seed + i)) for i, d in enumerate(devices)))
    results.elapsed_s = time.perf_counter() - started
    return results


@dataclass(frozen=True)
class FleetLoad:
    """What each simulated box sends in the busy hour (the defaults are argued in the README's capacity section)."""

    heartbeat_s: float = 30.0
    disposals_per_hour: float = 200.0
    flagged: float = 0.3  # share of disposals flagged: snapshot, crop and clip; the others send their crop
    snapshot_bytes: int = 150_000
    crop_bytes: int = 15_000
    clip_bytes: int = 400_000

    def events_per_s(self, boxes: int) -> float:
        return boxes * self.disposals_per_hour / 3600

    def evidence_bytes_per_event(self) -> float:
        return self.crop_bytes + self.flagged * (self.snapshot_bytes + self.clip_bytes)


def evidence_files(load: FleetLoad, seed: int = 0) -> dict[str, tuple[bytes, str]]:
    """One file of each kind, (bytes, SHA-256), sent by every event: each is stored under its event's own key.
    Random bytes behind the right magic numbers: as incompressible as JPEG and H.264."""
    rng = random.Random(seed)
    files = {
        "snapshot": b"\xff\xd8\xff\xe0" + rng.randbytes(load.snapshot_bytes - 4),
        "crop": b"\xff\xd8\xff\xe0" + rng.randbytes(load.crop_bytes - 4),
        "clip": b"\x00\x00\x00\x18ftypmp42" + rng.randbytes(load.clip_bytes - 12),
    }
    return {kind: (data, hashlib.sha256(data).hexdigest()) for kind, data in files.items()}


def fleet_event(
    device: SimDevice, rng: random.Random, flagged: bool, files: dict[str, tuple[bytes, str]]
) -> tuple[str, bytes, list[str]]:
    """A disposal at ``device``'s bin: its id, its JSON body, and the evidence it uploads after it."""
    item, category = rng.choice([(i, c) for i, c in ITEMS if (c != device.bin_category) == flagged])
    kinds = ["snapshot", "crop", "clip"] if flagged else ["crop"]
    evidence = [
        {"kind": k, "name": f"{k}.{'mp4' if k == 'clip' else 'jpg'}", "sha256": files[k][1], "size": len(files[k][0])}
        for k in kinds
    ]
    event_id, body = disposal(device, item, category, ["mixed_disposal"] if flagged else [], evidence)
    return event_id, body, kinds


def heartbeat_body(device: SimDevice) -> bytes:
    return json.dumps(
        {
            "device_id": device.device_id,
            "site_id": device.site_id,
            "sent_at": dt.datetime.now(dt.UTC).isoformat(),
            "model_version": "loadgen",
            "camera_state": "streaming",
            "fps": 15.0,
            "stage_ms": {"motion": 0.6, "classify": 11.0},
            "outbox_depth": 0,
            "uptime_s": 3600.0,
        }
    ).encode()


async def run_fleet(
    url: str, devices: list[SimDevice], load: FleetLoad, *, requests: int, duration: float, seed: int = 0
) -> Results:
    """Each device keeps its timetable for ``duration`` seconds, or until ``requests`` requests are made."""
    host, port = loopback_target(url)
    base = urlsplit(url).path.rstrip("/")
    files = evidence_files(load, seed)
    rate = load.disposals_per_hour / 3600
    results = Results()
    budget = {"left": requests}
    start = time.perf_counter()
    deadline = start + duration

    async def send(conn: Connection, kind: str, path: str, body: bytes, token: str, intended: float, **how) -> int:
        """The status, or 0 for a connection error or an exhausted budget; latency from ``intended``."""
        if budget["left"] <= 0:
            return 0
        budget["left"] -= 1
        for attempt in (1, 2):  # like a box: once more on a new connection (every request here is idempotent)
            try:
                status = await conn.request(
                    how.get("method", "POST"), path, body, token, how.get("type", "application/json")
                )
                break
            except (OSError, ConnectionError, asyncio.IncompleteReadError, ValueError):
                await conn.close()
                if attempt == 2:
                    results.errors += 1
                    return 0
        latency = (time.perf_counter() - intended) * 1000
        results.latencies_ms.append(latency)
        results.kinds.setdefault(kind, []).append(latency)
        results.statuses[status] = results.statuses.get(status, 0) + 1
        return status

    async def box(device: SimDevice, rng: random.Random) -> None:
        conn = Connection(host, port)
        next_beat = start + rng.uniform(0, load.heartbeat_s)
        next_event = start + rng.expovariate(rate) if rate > 0 else float("inf")
        try:
            while budget["left"] > 0 and (intended := min(next_beat, next_event)) < deadline:
                if time.perf_counter() >= deadline:  # behind its timetable at the end: what is left is missed
                    results.missed += _due(next_beat, load.heartbeat_s, deadline) + _due(next_event, 1 / rate, deadline)
                    break
                await asyncio.sleep(max(0.0, intended - time.perf_counter()))
                if next_beat <= next_event:
                    next_beat += load.heartbeat_s
                    await send(
                        conn, "heartbeat", f"{base}/api/v1/heartbeats", heartbeat_body(device), device.token, intended
                    )
                    continue
                next_event += rng.expovariate(rate)
                event_id, body, kinds = fleet_event(device, rng, rng.random() < load.flagged, files)
                if not 200 <= await send(conn, "event", f"{base}/api/v1/events", body, device.token, intended) < 300:
                    continue
                results.events += 1
                for kind in kinds:
                    data = files[kind][0]
                    path = f"{base}/api/v1/events/{event_id}/evidence/{kind}"
                    sent = time.perf_counter()
                    status = await send(
                        conn, "evidence", path, data, device.token, sent, method="PUT", type="application/octet-stream"
                    )
                    if status == 201:
                        results.evidence_bytes += len(data)
        finally:
            await conn.close()

    await asyncio.gather(*(box(d, random.Random(seed + i)) for i, d in enumerate(devices)))
    results.elapsed_s = time.perf_counter() - start
    return results


def _due(first: float, every: float, deadline: float) -> int:
    """How many of a series starting at ``first``, one each ``every`` seconds (on average), fall before ``deadline``."""
    return 0 if first >= deadline else 1 + int((deadline - first) / every)


def register_fleet(session, devices: int, sites: int, owner: str) -> list[SimDevice]:
    """Register ``sites`` sites with one bin per category and ``devices`` devices spread over
    them, each aimed at one bin: the fleet a load run posts from (benchmark and scale-out test)."""
    from binwatch.collector.provisioning import create_device, create_entity, create_site
    from binwatch.datasets.taxonomy import CATEGORY_KEYS

    entity = create_entity(session, name=owner, type="property_company")
    for s in range(sites):
        create_site(
            session,
            site_id=f"site-{s}",
            name=f"Site {s}",
            address=f"{s} Loopback Road",
            entity_id=entity.id,
            bins={f"bin-{c}": c for c in CATEGORY_KEYS},
        )
    fleet = []
    for d in range(devices):
        site, category = f"site-{d % sites}", CATEGORY_KEYS[d % len(CATEGORY_KEYS)]
        _device, token = create_device(session, device_id=f"dev-{d}", site_id=site)
        fleet.append(SimDevice(f"dev-{d}", site, token, f"bin-{category}", category))
    return fleet


def load_devices(path: Path, count: int) -> list[SimDevice]:
    devices = [SimDevice(**d) for d in json.loads(path.read_text())]
    if count > len(devices):
        raise SystemExit(f"{path} lists {len(devices)} devices, {count} asked for")
    return devices[:count]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python benchmarks/collector_loadgen.py", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--url", required=True, help="collector base URL on loopback, e.g. http://127.0.0.1:8080")
    parser.add_argument(
        "--devices-file",
        type=Path,
        help="JSON list of {device_id, site_id, token, bin_id, "
        "bin_category} (benchmarks/collector_load.py writes one); needed for --target events and fleet",
    )
    parser.add_argument(
        "--devices",
        type=int,
        default=32,
        help="simulated devices; events: = requests in flight (each holds one keep-alive connection, a second one "
        "for re-sends); fleet: boxes, each on its own timetable and connection",
    )
    parser.add_argument("--requests", type=int, default=10000, help="stop after this many requests in all")
    parser.add_argument("--duration", type=float, default=30.0, help="stop after this many seconds")
    parser.add_argument("--target", choices=("events", "health", "fleet"), default="events")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--resend",
        type=float,
        default=0.0,
        help="fraction of events posted twice at once over two connections of the device (at-least-once delivery)",
    )
    parser.add_argument(
        "--answers-file",
        type=Path,
        help="write {event_id: [status of each copy]} as JSON here, to check against the database",
    )
    fleet = parser.add_argument_group("fleet (--target fleet)")
    fleet.add_argument("--heartbeat-s", type=float, default=FleetLoad.heartbeat_s, help="seconds between heartbeats")
    fleet.add_argument(
        "--disposals-per-hour", type=float, default=FleetLoad.disposals_per_hour, help="per box, in the busy hour"
    )
    fleet.add_argument(
        "--flagged", type=float, default=FleetLoad.flagged, help="share of disposals flagged (snapshot, crop, clip)"
    )
    fleet.add_argument(
        "--evidence-bytes",
        default=f"{FleetLoad.snapshot_bytes},{FleetLoad.crop_bytes},{FleetLoad.clip_bytes}",
        metavar="SNAPSHOT,CROP,CLIP",
        help="the size of each evidence file",
    )
    args = parser.parse_args(argv)
    most = 16384 if args.target == "fleet" else 4096
    if not 1 <= args.requests <= 10_000_000 or not 0 < args.duration <= 3600 or not 1 <= args.devices <= most:
        parser.error(f"--requests 1..10000000, --duration 0..3600 s, --devices 1..{most}")
    if not 0.0 <= args.resend <= 1.0:
        parser.error("--resend is a fraction, 0 to 1")
    if args.answers_file is not None and args.target != "events":
        parser.error("--answers-file goes with --target events")
    try:
        loopback_target(args.url)
    except NotLoopback as exc:
        parser.error(str(exc))
    if args.target == "health":
        devices = [SimDevice(f"health-{i}", "-", "", "-", "other") for i in range(args.devices)]
    elif args.devices_file is None:
        parser.error(f"--target {args.target} needs --devices-file")
    else:
        devices = load_devices(args.devices_file, args.devices)
    try:
        from uvloop import run as run_loop
    except ImportError:
        run_loop = asyncio.run
    extra = {}
    if args.target == "fleet":
        try:
            snapshot, crop, clip = (int(n) for n in args.evidence_bytes.split(","))
        except ValueError:
            parser.error("--evidence-bytes takes three sizes: SNAPSHOT,CROP,CLIP")
        load = FleetLoad(args.heartbeat_s, args.disposals_per_hour, args.flagged, snapshot, crop, clip)
        if not (
            load.heartbeat_s > 0
            and load.disposals_per_hour >= 0
            and 0 <= load.flagged <= 1
            and min(snapshot, crop, clip) >= 16
        ):
            parser.error("--heartbeat-s > 0, --disposals-per-hour >= 0, --flagged 0..1, evidence files >= 16 bytes")
        work = run_fleet(args.url, devices, load, requests=args.requests, duration=args.duration, seed=args.seed)
        extra = {"offered_events_per_s": round(load.events_per_s(len(devices)), 2), "load": asdict(load)}
    else:
        work = run(
            args.url,
            devices,
            target=args.target,
            requests=args.requests,
            duration=args.duration,
            seed=args.seed,
            resend=args.resend,
            record=args.answers_file is not None,
        )
    gc.disable()  # a bounded run: a collector pause here would show up as server latency
    results = run_loop(work)
    if args.answers_file is not None:
        args.answers_file.write_text(json.dumps(results.answers))
    json.dump({"target": args.target, "devices": len(devices), **extra, **results.summary()}, sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
