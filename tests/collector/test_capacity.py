"""The capacity benchmark, run small: two workers on PostgreSQL with the S3 store, a fleet on its timetable."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from tests.collector.workers import URL, needs_postgres

ROOT = Path(__file__).resolve().parents[2]


@needs_postgres
@pytest.mark.slow
def test_the_capacity_benchmark_measures_a_small_fleet(tmp_path):
    out = tmp_path / "capacity.json"
    command = [sys.executable, "benchmarks/collector_capacity.py", "--boxes", "3,6", "--duration", "4"]
    command += ["--disposals-per-hour", "3600", "--heartbeat-s", "1", "--flagged", "0.5"]
    command += ["--evidence-bytes", "3000,800,9000", "--requests", "400", "--json", str(out)]
    run = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    results = json.loads(out.read_text())
    runs = results["runs"]
    assert [r["boxes"] for r in runs] == [3, 6]
    assert all(r["connection_errors"] == 0 and set(r["statuses"]) <= {"200", "201"} for r in runs)
    assert results["events_stored"] == sum(r["events"] for r in runs) > 0
    assert all(r["kinds"]["evidence"]["requests"] > 0 and r["evidence_mb_per_s"] > 0 for r in runs)  # into the bucket
    assert all(r["cpu_s"]["workers"] > 0 and r["cpu_s"]["postgres"] > 0 for r in runs)
    assert results["table_bytes"]["events"] > 0 and "per million events" in run.stdout
    assert f"events acknowledged {results['events_stored']}, stored {results['events_stored']}" in run.stdout
    # Its own database was dropped (another run on the same server may hold one of its own meanwhile).
    assert results["database"].startswith("binwatch_capacity_") and results["database"] not in capacity_databases()


def capacity_databases() -> set[str]:
    admin = create_engine(URL)
    try:
        with admin.connect() as connection:
            query = text("SELECT datname FROM pg_database WHERE datname LIKE 'binwatch_capacity_%'")
            return set(connection.scalars(query))
    finally:
        admin.dispose()
