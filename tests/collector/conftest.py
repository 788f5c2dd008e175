"""Fixtures of the collector tests: an app on a real SQLite file, provisioned sites, devices and users.

Tests talk to the app through FastAPI's TestClient, or to a real uvicorn server on
127.0.0.1 (``live_server``) where a browser or a second process needs a socket.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from binwatch.collector.app import create_app
from binwatch.collector.server import serve_in_thread
from binwatch.collector.settings import Settings
from tests.collector.objectstore import S3_CREDENTIALS, S3Bucket, s3_server, s3_url
from tests.collector.support import PASSWORDS, LiveServer, Template, World, provision


@pytest.fixture(scope="session")
def template(tmp_path_factory) -> Template:
    """A provisioned data folder with everyone logged in, made once and copied for each test.

    Argon2 is slow on purpose; hashing and checking the same passwords in every test would
    cost more than the tests themselves.
    """
    data_dir = tmp_path_factory.mktemp("template") / "data"
    app = create_app(Settings(data_dir=data_dir))
    entity_id, tokens, users = provision(app)
    with TestClient(app) as client:
        world = World(app, client, entity_id, tokens, users)
        logins = {name: world.token(name) for name in PASSWORDS}
    app.state.db.dispose()
    return Template(data_dir, entity_id, tokens, users, logins)


@pytest.fixture
def settings(tmp_path: Path, template: Template) -> Settings:
    data_dir = tmp_path / "data"
    shutil.copytree(template.data_dir, data_dir)
    return Settings(data_dir=data_dir, timezone="Asia/Shanghai", login_max_failures=5)


@pytest.fixture
def app(settings: Settings) -> Iterator[FastAPI]:
    app = create_app(settings)
    yield app
    app.state.db.dispose()


@pytest.fixture
def world(app: FastAPI, template: Template) -> Iterator[World]:
    with TestClient(app) as client:
        yield World(app, client, template.entity_id, template.device_tokens, template.user_ids, dict(template.logins))


@pytest.fixture
def live_server(world: World) -> Iterator[LiveServer]:
    """The same app served by uvicorn on 127.0.0.1 in a thread."""
    server = serve_in_thread(world.app)
    yield LiveServer(server.url, world)
    server.stop()


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """moto's S3 server on 127.0.0.1 (a real HTTP endpoint, port chosen by the OS), for the whole session."""
    server = s3_server()
    yield s3_url(server)
    server.stop()


@pytest.fixture
def bucket(s3_endpoint: str, monkeypatch) -> S3Bucket:
    """A new, empty bucket on the S3 server; boto3 in this process and its children finds test credentials."""
    for name, value in S3_CREDENTIALS.items():
        monkeypatch.setenv(name, value)
    return S3Bucket.create(s3_endpoint)
