"""The small parts: blob keys, byte ranges, JPEG sizes, the login throttle, settings, compliance."""

from __future__ import annotations

import datetime as dt
import io
import os
import time
from pathlib import Path
from typing import get_args

import pytest
from sqlalchemy import select

from binwatch.collector.api.ranges import Unsatisfiable, parse_range
from binwatch.collector.app import create_app
from binwatch.collector.blobs import BadKey, ChecksumMismatch, LocalBlobStore
from binwatch.collector.compliance import standing_flags
from binwatch.collector.db.tables import LoginAttempt, ReviewAction, ReviewActionName, ReviewStatus, Role, RoleName
from binwatch.collector.jpeg import jpeg_size
from binwatch.collector.lookups import Lookups
from binwatch.collector.provisioning import revoke_device
from binwatch.collector.settings import Settings, SettingsError, load_settings, settings_table
from binwatch.collector.throttle import LoginThrottle, Throttled
from tests.collector.support import jpeg, sha


@pytest.mark.parametrize(
    "key", ["../x", "a/../../x", "/etc/passwd", "a//b", "a/./b", ".hidden", "a\\b", "", "a/", "evidence/..", "x" * 600]
)
def test_blob_keys_cannot_leave_the_store(tmp_path, key):
    store = LocalBlobStore(tmp_path / "blobs")
    with pytest.raises(BadKey):
        store.put(key, io.BytesIO(b"x"), sha(b"x"))
    with pytest.raises(BadKey):
        store.size(key)
    assert not (tmp_path / "x").exists() and not (tmp_path / "passwd").exists()


def test_blob_store_roundtrip_and_ranges(tmp_path):
    store = LocalBlobStore(tmp_path)
    data = bytes(range(256)) * 2000
    store.put("evidence/ab/e1/clip", io.BytesIO(data), sha(data))
    assert store.size("evidence/ab/e1/clip") == len(data)
    assert b"".join(store.read("evidence/ab/e1/clip")) == data
    assert b"".join(store.read("evidence/ab/e1/clip", 1000, 300_000)) == data[1000:300_001]
    assert not list(tmp_path.glob("evidence/ab/e1/.upload-*"))
    store.put("evidence/ab/e2/crop", io.BytesIO(b"crop"), sha(b"crop"))
    assert list(store.keys()) == ["evidence/ab/e1/clip", "evidence/ab/e2/crop"]
    store.delete("evidence/ab/e1/clip")
    store.delete("evidence/ab/e1/clip")
    assert store.size("evidence/ab/e1/clip") is None
    assert not (tmp_path / "evidence/ab/e1").exists() and (tmp_path / "evidence/ab/e2").is_dir()  # no empty folders


def test_blob_store_refuses_bytes_that_are_not_the_verified_ones(tmp_path):
    """A file whose bytes changed between the upload's check and the store is not kept, nor is its temporary file."""
    store = LocalBlobStore(tmp_path)
    store.put("models/v1.onnx", io.BytesIO(b"first"), sha(b"first"))
    with pytest.raises(ChecksumMismatch):
        store.put("models/v1.onnx", io.BytesIO(b"second"), sha(b"other"))
    assert b"".join(store.read("models/v1.onnx")) == b"first"
    assert [p.name for p in (tmp_path / "models").iterdir()] == ["v1.onnx"]
    (tmp_path / "models" / ".upload-x1y2").write_bytes(b"half")  # a write that a crash cut short
    assert list(store.keys()) == ["models/v1.onnx"]


def test_uploads_a_kill_left_behind_are_swept_at_start(tmp_path):
    """A put killed between its temporary file and the rename leaves ``.upload-*`` behind; only old ones go,
    for another worker may be writing its own right now."""
    blobs = tmp_path / "data" / "blobs"
    store = LocalBlobStore(blobs)
    store.put("evidence/ab/e1/clip", io.BytesIO(b"kept"), sha(b"kept"))
    old = [blobs / "evidence" / "ab" / "e1" / ".upload-k1ll3d", blobs / "models" / ".upload-x"]
    fresh = blobs / "evidence" / "ab" / "e1" / ".upload-writing"
    for path in (*old, fresh):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"half a file")
    hours_ago = time.time() - 2 * 3600
    for path in old:
        os.utime(path, (hours_ago, hours_ago))
    app = create_app(Settings(data_dir=tmp_path / "data"))
    app.state.db.dispose()
    assert not any(path.exists() for path in old)
    assert fresh.exists() and store.size("evidence/ab/e1/clip") == 4
    assert store.sweep(older_than_s=0) == 1 and not fresh.exists()


@pytest.mark.parametrize(
    ("header", "size", "expected"),
    [
        (None, 100, None),
        ("bytes=0-9", 100, (0, 9)),
        ("bytes=90-", 100, (90, 99)),
        ("bytes=-5", 100, (95, 99)),
        ("bytes=-500", 100, (0, 99)),
        ("bytes=50-500", 100, (50, 99)),
        ("bytes=100-", 100, Unsatisfiable),
        ("bytes=9-3", 100, None),  # syntactically invalid: ignored, as RFC 9110 asks
        ("bytes=-0", 100, Unsatisfiable),
        ("bytes=0-1,3-4", 100, None),
        ("pages=1-2", 100, None),
        ("bytes=-", 100, None),
        ("bytes=" + "9" * 30 + "-", 100, None),
    ],
)
def test_parse_range(header, size, expected):
    if expected is Unsatisfiable:
        with pytest.raises(Unsatisfiable):
            parse_range(header, size)
    else:
        assert parse_range(header, size) == expected


def test_the_column_literals_name_the_enum_values():
    assert set(get_args(RoleName)) == set(Role) and set(get_args(ReviewActionName)) == set(ReviewAction)


def test_jpeg_size():
    assert jpeg_size(jpeg(123, 45)) == (123, 45)
    assert jpeg_size(b"\xff\xd8\xff\xe0\x00\x10JFIF") is None
    assert jpeg_size(b"GIF89a") is None
    assert jpeg_size(b"\xff\xd8\xff\xe0\x00\x01") is None


def test_login_throttle_window(app):
    now = [dt.datetime(2026, 12, 1, 8, 0, tzinfo=dt.UTC)]
    throttle = LoginThrottle(app.state.db, max_failures=3, window_s=60, clock=lambda: now[0])
    for _ in range(3):
        throttle.begin("user:a", "client:x")  # counted until it succeeds: these three failed
    with pytest.raises(Throttled) as refused:
        throttle.begin("user:a")
    assert refused.value.retry_after == pytest.approx(60)
    now[0] += dt.timedelta(seconds=30)
    with pytest.raises(Throttled) as refused:
        throttle.begin("user:c", "client:x")  # blocked by the client's three failures
    assert refused.value.retry_after == pytest.approx(30)
    throttle.begin("user:b")
    now[0] += dt.timedelta(seconds=31)  # the three failures have left the window; user:b's attempt has not
    attempt = throttle.begin("user:a", "client:x")
    with app.state.db.write() as session:
        throttle.succeeded(session, attempt, "user:a")
    for _ in range(3):
        throttle.begin("user:a")  # a success cleared the user's failures: three more may fail
    with app.state.db.read() as session:
        keys = sorted(session.scalars(select(LoginAttempt.key)))
    assert keys == ["user:a"] * 3 + ["user:b"]  # refused attempts and those that left the window are gone


def test_settings_precedence(tmp_path, monkeypatch):
    config = tmp_path / "collector.toml"
    config.write_text('port = 9000\ntimezone = "UTC"\ndata_dir = "/srv/binwatch"\n')
    monkeypatch.setenv("BINWATCH_COLLECTOR_PORT", "9100")
    settings = load_settings(config, workers=2)
    assert (settings.port, settings.timezone, str(settings.data_dir), settings.workers) == (
        9100,
        "UTC",
        "/srv/binwatch",
        2,
    )
    assert settings.db_url == "sqlite:////srv/binwatch/collector.sqlite3"
    monkeypatch.setenv("BINWATCH_COLLECTOR_CONFIG", str(config))
    assert Settings().timezone == "UTC"
    monkeypatch.delenv("BINWATCH_COLLECTOR_CONFIG")
    assert Settings(database_url="postgresql+psycopg://u@h/db").db_url == "postgresql+psycopg://u@h/db"


@pytest.mark.parametrize(
    "toml", ['timezone = "Mars/Olympus"', "prot = 1", 'port = "high"', "sqlite_synchronous = 'OFF'"]
)
def test_bad_settings_are_refused(tmp_path, toml):
    config = tmp_path / "bad.toml"
    config.write_text(toml + "\n")
    with pytest.raises(ValueError):
        load_settings(config)


def test_bad_settings_are_one_line_that_names_them(tmp_path):
    with pytest.raises(SettingsError) as caught:
        load_settings(None, port=99999, timezone="Mars/Olympus", database_url="postgresql://u:secret@h/db")
    message = str(caught.value)
    assert "\n" not in message and "secret" not in message
    assert "port (BINWATCH_COLLECTOR_PORT): Input should be less than or equal to 65535" in message
    assert "timezone (BINWATCH_COLLECTOR_TIMEZONE)" in message


def test_a_settings_file_is_named_when_it_is_no_toml_and_read_with_a_byte_order_mark(tmp_path):
    (tmp_path / "bad.toml").write_text("port = \n")
    with pytest.raises(SettingsError, match="bad.toml: not a TOML settings file"):
        load_settings(tmp_path / "bad.toml")
    (tmp_path / "bom.toml").write_bytes(b"\xef\xbb\xbfport = 9001\n")
    assert load_settings(tmp_path / "bom.toml").port == 9001


def test_missing_settings_file(tmp_path):
    with pytest.raises(FileNotFoundError):
        load_settings(tmp_path / "nope.toml")


def test_the_readme_table_of_settings_is_rendered_from_them():
    assert all(field.description for field in Settings.model_fields.values())
    readme = (Path(__file__).resolve().parents[2] / "collector" / "README.md").read_text(encoding="utf-8")
    lines = readme.splitlines(keepends=True)
    start = lines.index("| variable | default | meaning |\n")
    end = next(i for i in range(start, len(lines)) if not lines[i].startswith("|"))
    assert "".join(lines[start:end]) == settings_table(), "put the output of settings_table() in the README"


@pytest.mark.parametrize(
    ("reported", "status", "bin_category", "item", "category", "expected"),
    [
        ({"mixed_disposal"}, ReviewStatus.UNREVIEWED, "kitchen", None, None, {"mixed_disposal"}),
        ({"mixed_disposal"}, ReviewStatus.CONFIRMED, "kitchen", "battery", "hazardous", {"mixed_disposal"}),
        ({"mixed_disposal", "off_hours"}, ReviewStatus.REJECTED, "kitchen", None, None, set()),
        ({"mixed_disposal", "off_hours"}, ReviewStatus.CORRECTED, "kitchen", "eggshell", "kitchen", {"off_hours"}),
        (set(), ReviewStatus.CORRECTED, "kitchen", "plastic_bag", "other", {"mixed_disposal", "kitchen_contamination"}),
        (set(), ReviewStatus.CORRECTED, "other", "plastic_bag", "other", set()),
        ({"kitchen_contamination"}, ReviewStatus.CORRECTED, "kitchen", None, "other", {"mixed_disposal"}),
    ],
)
def test_standing_flags(reported, status, bin_category, item, category, expected):
    assert standing_flags(reported, status, bin_category, item, category) == expected


def test_without_a_cache_a_revoked_token_is_refused_at_once(world):
    """AUTH_CACHE_S=0: what another worker changed in the database applies to the next request."""
    cached, uncached = Lookups(world.app.state.db, ttl_s=5), Lookups(world.app.state.db, ttl_s=0)
    token = world.device_tokens["dev-b"]
    assert cached.device(token).id == uncached.device(token).id == "dev-b"
    assert uncached.cached_device(token) is None
    with world.app.state.db.write() as session:
        revoke_device(session, "dev-b")  # as another worker would: these caches are not told
    assert cached.device(token) is not None  # remembered for up to 5 s
    assert uncached.device(token) is None


def test_lookups_forget_and_expire(world):
    lookups = world.app.state.lookups
    token = world.device_tokens["dev-a"]
    assert lookups.device(token).site_id == "site-a"
    assert lookups.cached_device(token) is not None
    lookups.forget_device("dev-a")
    assert lookups.cached_device(token) is None
    assert lookups.bins("site-a") == {"k1": "kitchen", "o1": "other", "r1": "recyclable", "h1": "hazardous"}
    assert lookups.bins("site-b") == {}
    lookups.forget_site("site-a")
    assert lookups.cached_bins("site-a") is None
    assert lookups.device("bwd_unknown") is None and lookups.device("not-a-token") is None
