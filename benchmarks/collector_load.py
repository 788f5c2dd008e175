"""Collector load benchmark: events/s and latency on SQLite, beside the trivial health endpoint.

Starts ``binwatch collector serve`` (uvicorn, one worker, SQLite in a temporary folder) on a
free loopback port, registers the simulated devices, then runs ``collector_loadgen.py`` in its
own process, first against ``GET /api/v1/health`` (the ceiling: the same server doing no
work) and then ``POST /api/v1/events``. Every request is bounded by ``--requests`` and
``--duration``. Finally it checks that every acknowledged event is in the database.

    .venv/bin/python benchmarks/collector_load.py --devices 64 --requests 20000 --duration 20
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import asdict
from pathlib import Path

from sqlalchemy import func, select

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run as a script: the load generator beside it, the tests' free port

from benchmarks.collector_loadgen import register_fleet  # noqa: E402
from binwatch.collector.db.engine import Database  # noqa: E402
from binwatch.collector.db.tables import Event  # noqa: E402
from binwatch.collector.server import migrate, settings_environment  # noqa: E402
from binwatch.collector.settings import Settings  # noqa: E402
from tests.servers import free_port  # noqa: E402

LOADGEN = ROOT / "benchmarks" / "collector_loadgen.py"


def provision(settings: Settings, devices: int, sites: int) -> list[dict]:
    migrate(settings)
    db = Database(settings.db_url)
    with db.write() as session:
        fleet = register_fleet(session, devices, sites, "Benchmark property company")
    db.dispose()
    return [asdict(device) for device in fleet]


def wait_healthy(url: str, server: subprocess.Popen, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"the server exited with {server.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/api/v1/health", timeout=1) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise SystemExit("the server did not become healthy")


def loadgen(url: str, target: str, args, devices_file: Path) -> dict:
    command = [
        sys.executable,
        str(LOADGEN),
        "--url",
        url,
        "--target",
        target,
        "--devices",
        str(args.devices),
        "--requests",
        str(args.requests),
        "--duration",
        str(args.duration),
        "--devices-file",
        str(devices_file),
    ]
    out = subprocess.run(command, check=True, capture_output=True, text=True, timeout=args.duration + 60)
    return json.loads(out.stdout)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--devices", type=int, default=64)
    parser.add_argument("--sites", type=int, default=16)
    parser.add_argument("--requests", type=int, default=20000)
    parser.add_argument("--duration", type=float, default=20.0)
    parser.add_argument("--synchronous", choices=("NORMAL", "FULL"), default="NORMAL")
    parser.add_argument("--warmup", type=int, default=500, help="events posted first and not measured")
    args = parser.parse_args()

    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="collector-bench-") as tmp:
        port = free_port()
        settings = Settings(data_dir=Path(tmp), port=port, sqlite_synchronous=args.synchronous, log_level="warning")
        devices_file = Path(tmp) / "devices.json"
        devices_file.write_text(json.dumps(provision(settings, args.devices, args.sites)))
        env = {**os.environ, **settings_environment(settings)}
        server = subprocess.Popen(
            [
                sys.executable,
                "-c",
                "from binwatch.collector.server import serve; from binwatch.collector.settings import Settings; "
                "serve(Settings())",
            ],
            env=env,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            wait_healthy(url, server)
            warm = argparse.Namespace(**{**vars(args), "requests": args.warmup, "duration": 30.0})
            loadgen(url, "events", warm, devices_file)
            results = {
                "health": loadgen(url, "health", args, devices_file),
                "events": loadgen(url, "events", args, devices_file),
            }
        finally:
            server.terminate()
            server.wait(timeout=30)
        db = Database(settings.db_url)
        with db.read() as session:
            stored = session.scalar(select(func.count()).select_from(Event))
        db.dispose()
    acked = results["events"]["statuses"].get("201", 0) + args.warmup
    print(f"{'endpoint':<22}{'ok/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'max ms':>9}{'requests':>10}  statuses")
    for name, label in (("health", "GET /api/v1/health"), ("events", "POST /api/v1/events")):
        r = results[name]
        print(
            f"{label:<22}{r['ok_per_s']:>9.0f}{r['p50_ms']:>9.2f}{r['p99_ms']:>9.2f}{r['max_ms']:>9.2f}"
            f"{r['requests']:>10}  {r['statuses']}"
        )
    print(
        f"devices {args.devices}, SQLite synchronous={args.synchronous}, {os.cpu_count()} CPUs, load average "
        f"before {load_before:.2f}; events acknowledged {acked}, stored {stored}"
    )
    summary = {"settings": vars(args), **results, "acknowledged": acked, "stored": stored, "load_before": load_before}
    print(json.dumps(summary))
    return 0 if stored >= acked else 1


if __name__ == "__main__":
    raise SystemExit(main())
