"""``binwatch collector …`` commands, driven through ``register`` as binwatch/cli.py wires them."""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import subprocess
import sys

import pytest

from binwatch.collector import cli
from binwatch.collector.entity_types import EntityType

RUN = (
    "import argparse, sys, binwatch.collector.cli as c; p = argparse.ArgumentParser(prog='binwatch'); "
    "s = p.add_subparsers(); c.register(s); a = p.parse_args(sys.argv[1:]); raise SystemExit(a.func(a))"
)


def run(*args: str, stdin: str = "") -> tuple[int, str, str]:
    parser = argparse.ArgumentParser(prog="binwatch")
    cli.register(parser.add_subparsers())
    namespace = parser.parse_args(["collector", *args])
    out, err = io.StringIO(), io.StringIO()
    old = sys.stdout, sys.stderr, sys.stdin
    sys.stdout, sys.stderr, sys.stdin = out, err, io.StringIO(stdin)
    try:
        code = namespace.func(namespace)
    finally:
        sys.stdout, sys.stderr, sys.stdin = old
    return code, out.getvalue(), err.getvalue()


@pytest.fixture
def data(tmp_path) -> list[str]:
    return ["--data-dir", str(tmp_path / "cli-data")]


def test_provision_from_the_command_line(data, tmp_path):
    assert run("migrate", *data)[0] == 0
    code, out, _ = run("add-entity", *data, "--name", "某物业", "--type", "property_company")
    assert code == 0 and out.strip() == "1"
    code, out, _ = run(
        "add-site",
        *data,
        "--id",
        "s1",
        "--name",
        "一号楼",
        "--address",
        "Road 1",
        "--entity",
        "1",
        "--bin",
        "k1:kitchen",
        "--bin",
        "o1:other",
    )
    assert (code, out.strip()) == (0, "s1")
    code, out, err = run("add-device", *data, "--id", "d1", "--site", "s1")
    assert code == 0 and out.strip().startswith("bwd_") and "shown only now" in err
    code, out, _ = run(
        "add-user", *data, "--username", "alice", "--role", "admin", "--password-stdin", stdin="alice-password\n"
    )
    assert code == 0 and "alice (admin)" in out
    code, out, _ = run("device-token", *data, "--id", "d1")
    assert code == 0 and out.startswith("bwd_")

    model = tmp_path / "m.onnx"
    model.write_bytes(b"\x08\x08" + b"\x00" * 500)
    metrics = tmp_path / "metrics.json"
    metrics.write_text('{"top1": 0.9}')
    digest = hashlib.sha256(model.read_bytes()).hexdigest()
    code, out, _ = run(
        "add-model",
        *data,
        "--version",
        "v1",
        "--file",
        str(model),
        "--metrics",
        str(metrics),
        "--sha256",
        digest,
        "--current",
    )
    assert code == 0 and "registered, current" in out
    code, _, err = run("add-model", *data, "--version", "v2", "--file", str(model), "--sha256", "0" * 64)
    assert code == 1 and "SHA-256" in err

    code, out, _ = run("ledger", *data)
    assert code == 0 and next(csv.reader(io.StringIO(out)))[0] == "date"
    code, out, _ = run("export-reviewed", *data, "--out", str(tmp_path / "export"))
    assert code == 0 and (tmp_path / "export" / "manifest.csv").is_file()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["add-site", "--id", "s/1", "--name", "x", "--address", "y", "--entity", "1"], "site id"),
        (["add-site", "--id", "s2", "--name", "x", "--address", "y", "--entity", "7"], "no entity 7"),
        (["add-entity", "--name", "x", "--type", "king"], "unknown entity type"),
        (["add-device", "--id", "d9", "--site", "nowhere"], "no site nowhere"),
    ],
)
def test_errors_are_plain_messages(data, args, message):
    run("migrate", *data)
    code, _, err = run(*args[:1], *data, *args[1:])
    assert code == 1 and message in err and "Traceback" not in err


def test_short_password_is_refused(data):
    code, _, err = run(
        "add-user", *data, "--username", "bob", "--role", "reviewer", "--password-stdin", stdin="short\n"
    )
    assert code == 1 and "password" in err and "short" not in err  # never echoed to a log


@pytest.mark.filterwarnings("ignore::getpass.GetPassWarning")  # getpass falls back to standard input
def test_bad_days_databases_and_a_missing_password_are_plain_messages(data, tmp_path, capsys):
    with pytest.raises(SystemExit):
        run("ledger", *data, "--until", "9999-12-31")
    assert "invalid day value: '9999-12-31'" in capsys.readouterr().err
    (tmp_path / "junk").mkdir()
    (tmp_path / "junk" / "collector.sqlite3").write_text("not a database")
    code, _, err = run("ledger", "--data-dir", str(tmp_path / "junk"))
    assert code == 1 and "cannot be used: file is not a database" in err
    code, _, err = run("add-user", *data, "--username", "bob", "--role", "reviewer")  # no terminal, no stdin
    assert code == 1 and "no password given" in err
    code, _, err = run("add-site", *data, "--id", "s1", "--name", "n", "--address", "a", "--entity", "1",
                       "--bin", "k1:kitchen", "--bin", "k1:other")  # fmt: skip
    assert code == 2 and "bin k1 is given twice" in err


def test_add_entity_help_lists_every_entity_type(capsys):
    with pytest.raises(SystemExit):
        run("add-entity", "--help")
    help_text = " ".join(capsys.readouterr().out.split())
    assert all(kind.value in help_text for kind in EntityType)


def test_help_does_not_import_the_service():
    """``binwatch --help`` must work on an edge box without FastAPI or SQLAlchemy."""
    code = (
        "import sys, argparse, binwatch.collector.cli as c; p = argparse.ArgumentParser(); "
        "c.register(p.add_subparsers()); p.format_help(); "
        "bad = [m for m in ('fastapi', 'sqlalchemy', 'uvicorn') if m in sys.modules]; "
        "print(bad); raise SystemExit(1 if bad else 0)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    help_text = subprocess.run([sys.executable, "-c", RUN, "collector", "--help"], capture_output=True, text=True)
    assert help_text.returncode == 0 and "add-device" in help_text.stdout
