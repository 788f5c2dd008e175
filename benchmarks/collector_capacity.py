"""Capacity for a city: simulated drop-off points against collector workers on PostgreSQL with the S3 store.

Creates a database of its own on the PostgreSQL server that ``--database-url`` names (default:
``BINWATCH_TEST_POSTGRES_URL``), migrates it and registers the largest fleet, one box per
drop-off point; starts moto's S3 server (a process of its own, on loopback) with a bucket, and
``binwatch collector serve --workers 2`` with ``BLOB_STORE=s3://…``. Then, for each fleet size
in ``--boxes``, it runs ``collector_loadgen.py --target fleet``: every box on its own
timetable (a heartbeat every 30 s, disposals at the busy-hour rate, a share of them flagged
with snapshot, crop and clip), bounded by ``--duration`` and ``--requests``. It reports events/s
(achieved against offered), latency by request kind, evidence MB/s, and the CPU seconds spent
by the workers, by this database's PostgreSQL backends and by the S3 server per box and hour
(from the work done), from which the capacity per core follows; at the end, the database's
growth per million events, and the events it holds against those acknowledged (exit 1 when
one is missing). A fleet size is carried when no box fell behind its timetable and 99 % of
events were stored within a second of being due.

    .venv/bin/python benchmarks/collector_capacity.py --boxes 250,500,1000 --duration 60
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import asdict
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run as a script: the load generator beside it, the tests' free port

from benchmarks.collector_loadgen import FleetLoad, register_fleet  # noqa: E402
from binwatch.collector.db.engine import Database  # noqa: E402
from binwatch.collector.server import migrate, settings_environment  # noqa: E402
from binwatch.collector.settings import Settings  # noqa: E402
from tests.servers import free_port  # noqa: E402

LOADGEN = ROOT / "benchmarks" / "collector_loadgen.py"
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "capacity", "AWS_SECRET_ACCESS_KEY": "capacity", "AWS_DEFAULT_REGION": "us-east-1"}
TICK = os.sysconf("SC_CLK_TCK")
TABLES = ("events", "event_flags", "evidence")
HEADROOM = 0.7  # plan a core at 70 % busy in the busiest hour
TARGET_P99_MS = 1000.0  # a fleet size is carried when nothing is missed and 99 % of events are stored within 1 s


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (0 once it has gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICK


def children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                    found.append(int(entry.name))
            except (OSError, IndexError, ValueError):
                continue
    return found


def wait_for(url: str, process: subprocess.Popen, what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"{what} exited with {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=1):
                return
        except urllib.error.HTTPError:
            return  # it answers
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"{what} did not start")


class Meter:
    """CPU seconds of the workers, of the database's backends and of the S3 server, between two readings."""

    def __init__(self, url: str, database: str, workers: list[int], s3: int):
        self.admin = create_engine(url, isolation_level="AUTOCOMMIT")
        self.database, self.workers, self.s3 = database, workers, s3

    def backends(self) -> list[int]:
        with self.admin.connect() as connection:
            query = "SELECT pid FROM pg_stat_activity WHERE datname = :db AND pid <> pg_backend_pid()"
            return list(connection.execute(text(query), {"db": self.database}).scalars())

    def read(self) -> dict[str, dict[int, float]]:
        return {
            "workers": {pid: cpu_seconds(pid) for pid in self.workers},
            "postgres": {pid: cpu_seconds(pid) for pid in self.backends()},
            "s3": {self.s3: cpu_seconds(self.s3)},
        }

    def sizes(self) -> dict[str, int]:
        """Bytes of the event tables with their indexes and TOAST, of the whole database, and the event count."""
        with self.admin.connect() as connection:
            found = {t: connection.scalar(text(f"SELECT pg_total_relation_size('{t}')")) for t in TABLES}
            found["database"] = connection.scalar(text("SELECT pg_database_size(current_database())"))
            found["events_stored"] = connection.scalar(text("SELECT count(*) FROM events"))
        return found

    @staticmethod
    def spent(before: dict, after: dict) -> dict[str, float]:
        """Per group; a backend that appeared meanwhile counts from zero (one that ended is lost: pools keep theirs)."""
        return {
            group: round(sum(after[group][pid] - before[group].get(pid, 0.0) for pid in after[group]), 2)
            for group in after
        }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--database-url",
        default=os.environ.get("BINWATCH_TEST_POSTGRES_URL"),
        help="a PostgreSQL server (any database on it); a new database is made there and dropped after",
    )
    parser.add_argument("--boxes", default="250,500,1000", help="fleet sizes to run, one after the other")
    parser.add_argument("--duration", type=float, default=60.0, help="seconds per fleet size")
    parser.add_argument("--requests", type=int, default=300_000, help="at most this many requests per fleet size")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--disposals-per-hour", type=float, default=FleetLoad.disposals_per_hour)
    parser.add_argument("--heartbeat-s", type=float, default=FleetLoad.heartbeat_s)
    parser.add_argument("--flagged", type=float, default=FleetLoad.flagged)
    parser.add_argument(
        "--evidence-bytes",
        default=f"{FleetLoad.snapshot_bytes},{FleetLoad.crop_bytes},{FleetLoad.clip_bytes}",
        metavar="SNAPSHOT,CROP,CLIP",
    )
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    if not args.database_url or make_url(args.database_url).get_backend_name() != "postgresql":
        parser.error("name a PostgreSQL server: --database-url or BINWATCH_TEST_POSTGRES_URL")
    steps = sorted({int(n) for n in args.boxes.split(",")})
    if not steps or steps[0] < 1 or steps[-1] > 16384 or not 0 < args.duration <= 600:
        parser.error("--boxes 1..16384 each, --duration up to 600 s")
    snapshot, crop, clip = (int(n) for n in args.evidence_bytes.split(","))
    load = FleetLoad(args.heartbeat_s, args.disposals_per_hour, args.flagged, snapshot, crop, clip)

    name = f"binwatch_capacity_{uuid.uuid4().hex[:10]}"
    admin = create_engine(args.database_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(args.database_url).set(database=name).render_as_string(hide_password=False)
    processes: list[subprocess.Popen] = []
    try:
        with tempfile.TemporaryDirectory(prefix="collector-capacity-") as tmp:
            results = run(args, load, steps, url, name, Path(tmp), processes)
    finally:
        for process in reversed(processes):
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
    report(results, load)
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    return 0 if results["events_stored"] == sum(r["events"] for r in results["runs"]) else 1


def run(args, load: FleetLoad, steps: list[int], url: str, name: str, tmp: Path, processes: list) -> dict:
    s3_port, port = free_port(), free_port()
    s3 = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(s3_port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    processes.append(s3)
    endpoint = f"http://127.0.0.1:{s3_port}"
    wait_for(endpoint, s3, "the S3 server")
    import boto3

    bucket = "binwatch-capacity"
    boto3.client("s3", endpoint_url=endpoint, **_boto(CREDENTIALS)).create_bucket(Bucket=bucket)

    settings = Settings(
        data_dir=tmp / "data",
        database_url=url,
        port=port,
        workers=args.workers,
        migrate_on_start=False,
        log_level="warning",
        blob_store=f"s3://{bucket}/city",
        s3_endpoint_url=endpoint,
        s3_addressing_style="path",
        retention_sweep_s=0,
        # a fixed pool: backends live for the whole run, so that their CPU time can be read from /proc
        db_pool_size=20,
        db_max_overflow=0,
    )
    migrate(settings)
    db = Database(url)
    started = time.monotonic()
    with db.write() as session:
        fleet = register_fleet(session, steps[-1], steps[-1], "Capacity property company")
    db.dispose()
    print(f"registered {steps[-1]} drop-off points in {time.monotonic() - started:.0f} s", file=sys.stderr)
    devices_file = tmp / "devices.json"
    devices_file.write_text(json.dumps([asdict(device) for device in fleet]))

    env = {**os.environ, **CREDENTIALS, **settings_environment(settings)}
    env.pop("BINWATCH_COLLECTOR_CONFIG", None)
    server = subprocess.Popen([sys.executable, "-m", "binwatch", "collector", "serve"], env=env)
    processes.append(server)
    wait_for(f"http://127.0.0.1:{port}/api/v1/health", server, "the collector")
    time.sleep(2)  # every worker up
    workers = children(server.pid)
    meter = Meter(url, name, workers, s3.pid)

    empty = meter.sizes()
    runs = []
    for boxes in steps:
        before, usage = meter.read(), resource.getrusage(resource.RUSAGE_CHILDREN)
        command = [
            sys.executable,
            str(LOADGEN),
            "--url",
            f"http://127.0.0.1:{port}",
            "--target",
            "fleet",
            "--devices-file",
            str(devices_file),
            "--devices",
            str(boxes),
            "--duration",
            str(args.duration),
            "--requests",
            str(args.requests),
            "--heartbeat-s",
            str(load.heartbeat_s),
            "--disposals-per-hour",
            str(load.disposals_per_hour),
            "--flagged",
            str(load.flagged),
            "--evidence-bytes",
            f"{load.snapshot_bytes},{load.crop_bytes},{load.clip_bytes}",
        ]
        out = subprocess.run(command, check=True, capture_output=True, text=True, timeout=args.duration + 300)
        after, used = meter.read(), resource.getrusage(resource.RUSAGE_CHILDREN)
        summary = json.loads(out.stdout)
        cpu = Meter.spent(before, after)
        cpu["load generator"] = round(used.ru_utime + used.ru_stime - usage.ru_utime - usage.ru_stime, 2)
        runs.append({"boxes": boxes, "cpu_s": cpu, **summary})
        print(json.dumps(runs[-1]), file=sys.stderr)

    full = meter.sizes()
    meter.admin.dispose()
    return {
        "load": asdict(load),
        "workers": args.workers,
        "cpus": os.cpu_count(),
        "load_average_at_end": os.getloadavg(),
        "runs": runs,
        "events_stored": full["events_stored"],
        "table_bytes": {t: full[t] - empty[t] for t in TABLES},  # what the events added to the empty tables
        "database_bytes": full["database"],
        "database": name,  # dropped when the run ends
    }


def _boto(credentials: dict[str, str]) -> dict[str, str]:
    return {
        "aws_access_key_id": credentials["AWS_ACCESS_KEY_ID"],
        "aws_secret_access_key": credentials["AWS_SECRET_ACCESS_KEY"],
        "region_name": credentials["AWS_DEFAULT_REGION"],
    }


def carried(run: dict) -> bool:
    return run["missed"] == 0 and run["kinds"]["event"]["p99_ms"] < TARGET_P99_MS


def per_box_hour(run: dict, load: FleetLoad) -> dict[str, float]:
    """CPU seconds per box and busy hour, from the work done: the events stored, at the disposal rate."""
    box_hours = max(run["events"], 1) / load.disposals_per_hour
    return {group: seconds / box_hours for group, seconds in run["cpu_s"].items()}


def report(results: dict, load: FleetLoad) -> None:
    print(
        f"{'boxes':>6}{'offered ev/s':>13}{'stored ev/s':>12}{'req/s':>8}{'event p50/p99 ms':>18}"
        f"{'evidence p99':>13}{'heartbeat p99':>14}{'evid. MB/s':>11}{'missed':>7}{'errors':>7}{'carried':>8}"
        "  CPU s per box-hour: workers, postgres, s3"
    )
    for r in results["runs"]:
        kinds = r["kinds"]
        cpu = per_box_hour(r, load)
        bad = sum(n for s, n in r["statuses"].items() if not s.startswith("2")) + r["connection_errors"]
        print(
            f"{r['boxes']:>6}{r['offered_events_per_s']:>13.1f}{r['events_per_s']:>12.1f}{r['ok_per_s']:>8.0f}"
            f"{kinds['event']['p50_ms']:>9.0f} /{kinds['event']['p99_ms']:>6.0f}"
            f"{kinds.get('evidence', {}).get('p99_ms') or 0:>13.0f}{kinds['heartbeat']['p99_ms']:>14.0f}"
            f"{r['evidence_mb_per_s']:>11.2f}{r['missed']:>7}{bad:>7}{'yes' if carried(r) else 'no':>8}  "
            f"{cpu['workers']:.2f}, {cpu['postgres']:.2f}, {cpu['s3']:.2f}"
        )
    kept_up = [r for r in results["runs"] if carried(r)]
    rows = sum(results["table_bytes"].values())
    evidence_mb = load.evidence_bytes_per_event() * load.disposals_per_hour / 1e6
    print(
        f"\nper box in the busy hour: {load.disposals_per_hour:.0f} disposals ({load.flagged:.0%} flagged), "
        f"{3600 / load.heartbeat_s:.0f} heartbeats, {evidence_mb:.1f} MB of evidence; the database grows "
        f"{rows / max(results['events_stored'], 1) * 1e6 / 1e9:.2f} GB per million events "
        f"({results['events_stored']} events added {rows / 1e6:.1f} MB to their tables and indexes)"
    )
    acknowledged = sum(r["events"] for r in results["runs"])
    print(f"events acknowledged {acknowledged}, stored {results['events_stored']}")
    if kept_up:
        best = kept_up[-1]
        cpu = per_box_hour(best, load)
        print(
            f"largest fleet carried: {best['boxes']} boxes; from its CPU time, a core at {HEADROOM:.0%} carries "
            f"≈ {3600 * HEADROOM / cpu['workers']:.0f} boxes as a worker, ≈ {3600 * HEADROOM / cpu['postgres']:.0f} "
            "as PostgreSQL (CPU only)"
        )
    else:
        print("no fleet size was carried: start smaller (--boxes)")
    print(json.dumps(results))


if __name__ == "__main__":
    raise SystemExit(main())
