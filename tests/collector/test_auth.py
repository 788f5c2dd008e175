"""Logging in and out: tokens, expiry, the rate limit on failed attempts."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import update

from binwatch.collector.db.tables import Login
from tests.collector.support import PASSWORDS, World


def login(world: World, username: str, password: str, client_ip: str | None = None):
    return world.client.post("/api/v1/auth/login", json={"username": username, "password": password})


def test_login_me_logout(world: World):
    r = login(world, "rita", PASSWORDS["rita"])
    assert r.status_code == 200 and r.json()["user"]["role"] == "reviewer"
    token = {"Authorization": f"Bearer {r.json()['token']}"}
    assert world.client.get("/api/v1/auth/me", headers=token).json()["username"] == "rita"
    assert world.client.post("/api/v1/auth/logout", headers=token).status_code == 204
    assert world.client.get("/api/v1/auth/me", headers=token).status_code == 401


def test_user_names_are_case_insensitive_passwords_not(world: World):
    assert login(world, "RITA", PASSWORDS["rita"]).status_code == 200
    assert login(world, "rita", PASSWORDS["rita"].upper()).status_code == 401
    assert login(world, "nobody", "whatever-password").status_code == 401


def test_failed_logins_are_rate_limited(world: World):
    for _ in range(5):
        assert login(world, "remy", "wrong-password").status_code == 401
    r = login(world, "remy", PASSWORDS["remy"])
    assert r.status_code == 429 and int(r.headers["retry-after"]) > 0
    # The limit is per user name and per client: this client is now blocked for everyone.
    assert login(world, "rita", PASSWORDS["rita"]).status_code == 429


def test_expired_login_is_refused(world: World):
    token = world.token("rita")
    with world.app.state.db.write() as session:
        session.execute(update(Login).values(expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)))
    r = world.client.get("/api/v1/events", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 401 and "expired" in r.json()["detail"]


def test_garbage_credentials(world: World):
    for header in ("Bearer", "Bearer ", "Basic cml0YTpwdw==", "Bearer bwu_" + "A" * 43, "bwu_x"):
        assert world.client.get("/api/v1/auth/me", headers={"Authorization": header}).status_code == 401
    assert login(world, "", "").status_code == 422
    assert world.client.post("/api/v1/auth/login", json={"username": "rita"}).status_code == 422
