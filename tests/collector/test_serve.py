"""``binwatch collector serve`` and its database when things are wrong: one line and a non-zero exit, never a
traceback, and nothing touched before the port is known to be free; a database that goes away is 503."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from binwatch.collector.app import create_app
from binwatch.collector.settings import Settings
from tests.servers import free_port

UNREACHABLE_PG = "postgresql+psycopg://binwatch:s3cret@127.0.0.1:{port}/binwatch"


def collector(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "binwatch", "collector", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )


def assert_one_clear_line(result: subprocess.CompletedProcess, *words: str) -> None:
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if "error" in line.lower()]
    assert len(errors) == 1, result.stderr
    for word in words:
        assert word in errors[0], errors[0]


def test_a_port_in_use_is_refused_before_the_database_is_touched(tmp_path: Path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = collector("serve", "--data-dir", str(tmp_path / "data"), "--port", str(port))
    assert_one_clear_line(result, f"127.0.0.1:{port}", "in use")
    assert not (tmp_path / "data").exists()  # not migrated, not even created


@pytest.mark.parametrize(("port", "word"), [("99999", "65535"), ("0", "greater than or equal to 1")])
def test_an_impossible_port_is_one_line(tmp_path: Path, port, word):
    result = collector("serve", "--data-dir", str(tmp_path / "data"), "--port", port)
    assert_one_clear_line(result, "port", word)
    assert "validation error" not in result.stderr and "pydantic" not in result.stderr


@pytest.mark.parametrize("migrate_on_start", ["true", "false"])
def test_an_unreachable_database_is_one_line_without_its_password(tmp_path: Path, migrate_on_start):
    url = UNREACHABLE_PG.format(port=free_port())  # nothing listens there
    env = {"PATH": "/usr/bin:/bin", "BINWATCH_COLLECTOR_MIGRATE_ON_START": migrate_on_start}
    result = collector("serve", "--database-url", url, "--port", str(free_port()), env=env)
    assert_one_clear_line(result, "cannot be used", "127.0.0.1", "refused")
    assert "s3cret" not in result.stderr


def test_a_malformed_database_url_is_one_line(tmp_path: Path):
    result = collector("migrate", "--data-dir", str(tmp_path), "--database-url", "no-such-dialect://x")
    assert_one_clear_line(result, "database_url")


def test_a_database_that_goes_away_is_503_not_500(tmp_path: Path):
    data = tmp_path / "data"
    (data / "collector.sqlite3").mkdir(parents=True)  # a folder where the database file should be
    app = create_app(Settings(data_dir=data, migrate_on_start=False))
    with TestClient(app) as client:
        r = client.get("/api/v1/events", headers={"Authorization": "Bearer bwu_some-login"})
    app.state.db.dispose()
    assert r.status_code == 503 and r.headers["retry-after"] and "database is unavailable" in r.json()["detail"]
