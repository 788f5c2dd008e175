"""Helpers of the collector tests: real JPEG and clip bytes, events, the provisioned world and its clients."""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
from fastapi import FastAPI
from fastapi.testclient import TestClient

from binwatch.collector.provisioning import create_device, create_entity, create_site, create_user

PASSWORDS = {
    "admin": "admin-password-1",
    "rita": "reviewer-password-1",
    "remy": "reviewer-password-2",
    "erin": "entity-password-1",  # a user of site A's responsible entity
}
SITE_A_BINS = {"k1": "kitchen", "o1": "other", "r1": "recyclable", "h1": "hazardous"}


def jpeg(width: int = 64, height: int = 48, seed: int = 0) -> bytes:
    """A real JPEG of the given size (the export reads its dimensions back)."""
    rng = np.random.default_rng(seed)
    image = rng.integers(0, 255, (height, width, 3), dtype=np.uint8)
    ok, data = cv2.imencode(".jpg", image)
    assert ok
    return data.tobytes()


def clip(size: int = 50_000, seed: int = 0) -> bytes:
    """Bytes that start like an MP4 file; the collector checks hash and size, not the codec."""
    head = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom"
    return head + np.random.default_rng(seed).integers(0, 256, size - len(head), dtype=np.uint8).tobytes()


def h264_clip(tmp: Path, frames: int = 24, size: tuple[int, int] = (320, 180)) -> bytes:
    """A real H.264 MP4 (the edge's own writer), which a browser plays: a bar moving across a grey field."""
    from binwatch.edge.clip import write_mp4

    start = dt.datetime(2026, 11, 20, tzinfo=dt.UTC)
    images = []
    for i in range(frames):
        image = np.full((size[1], size[0], 3), 90, np.uint8)
        x = i * size[0] // frames
        image[:, x : x + size[0] // 10] = (40, 160, 240)
        ok, data = cv2.imencode(".jpg", image)
        assert ok
        images.append((start + dt.timedelta(seconds=i / 12), data.tobytes()))
    path = tmp / "clip.mp4"
    write_mp4(path, images, "avc1", lambda frame: frame)
    return path.read_bytes()


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass
class World:
    """What the tests start from: one entity, site A (with bins) and site B (without), their devices, users."""

    app: FastAPI
    client: TestClient
    entity_id: int
    device_tokens: dict[str, str]
    user_ids: dict[str, int]
    _logins: dict[str, str] = field(default_factory=dict)

    def device(self, device_id: str = "dev-a") -> dict[str, str]:
        return {"Authorization": f"Bearer {self.device_tokens[device_id]}"}

    def token(self, username: str) -> str:
        if username not in self._logins:
            r = self.client.post("/api/v1/auth/login", json={"username": username, "password": PASSWORDS[username]})
            assert r.status_code == 200, r.text
            self._logins[username] = r.json()["token"]
        return self._logins[username]

    def user(self, username: str = "rita") -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(username)}"}

    def event(self, device_id: str = "dev-a", **overrides) -> dict:
        return make_event(device_id, **overrides)

    def post_event(self, body: dict, device_id: str | None = None) -> dict:
        r = self.client.post("/api/v1/events", json=body, headers=self.device(device_id or body["device_id"]))
        assert r.status_code == 201, r.text
        return r.json()

    def upload(self, body: dict, kind: str, data: bytes, device_id: str | None = None):
        return self.client.put(
            f"/api/v1/events/{body['event_id']}/evidence/{kind}",
            content=data,
            headers=self.device(device_id or body["device_id"]),
        )


DEVICE_SITES = {"dev-a": "site-a", "dev-a2": "site-a", "dev-b": "site-b"}


def make_event(
    device_id: str = "dev-a",
    *,
    bin_id: str = "k1",
    bin_category: str = "kitchen",
    item: str | None = "plastic_bag",
    flags: tuple[str, ...] = ("kitchen_contamination",),
    started_at: dt.datetime | None = None,
    evidence: dict[str, bytes] | None = None,
    **extra,
) -> dict:
    from binwatch.datasets.taxonomy import category_of

    started = started_at or dt.datetime(2026, 11, 20, 9, 30, tzinfo=dt.UTC)
    body = {
        "event_id": str(uuid.uuid4()),
        "device_id": device_id,
        "site_id": DEVICE_SITES.get(device_id, "site-a"),
        "bin_id": bin_id,
        "bin_category": bin_category,
        "started_at": started.isoformat(),
        "ended_at": (started + dt.timedelta(seconds=4)).isoformat(),
        "prediction": None
        if item is None
        else {
            "item": item,
            "item_score": 0.87,
            "category": category_of(item),
            "category_score": 0.93,
        },
        "flags": list(flags),
        "model_version": "m-1",
        "evidence": [
            {"kind": k, "name": f"{k}.{'mp4' if k == 'clip' else 'jpg'}", "sha256": sha(v), "size": len(v)}
            for k, v in (evidence or {}).items()
        ],
    }
    body.update(extra)
    return body


def provision(app: FastAPI) -> tuple[int, dict[str, str], dict[str, int]]:
    with app.state.db.write() as session:
        entity = create_entity(session, name="幸福物业 Happiness Property", type="property_company")
        other = create_entity(session, name="Residents' committee B", type="residents_committee")
        create_site(
            session, site_id="site-a", name="Block A", address="1 Harmony Road", entity_id=entity.id, bins=SITE_A_BINS
        )
        create_site(session, site_id="site-b", name="Market B", address="2 Market Street", entity_id=other.id)
        tokens = {d: create_device(session, device_id=d, site_id=s)[1] for d, s in DEVICE_SITES.items()}
        users = {
            "admin": create_user(session, username="admin", password=PASSWORDS["admin"], role="admin").id,
            "rita": create_user(session, username="rita", password=PASSWORDS["rita"], role="reviewer").id,
            "remy": create_user(session, username="remy", password=PASSWORDS["remy"], role="reviewer").id,
            "erin": create_user(
                session, username="erin", password=PASSWORDS["erin"], role="entity", entity_id=entity.id
            ).id,
        }
        return entity.id, tokens, users


@dataclass(frozen=True)
class Template:
    data_dir: Path
    entity_id: int
    device_tokens: dict[str, str]
    user_ids: dict[str, int]
    logins: dict[str, str]


@dataclass
class LiveServer:
    url: str
    world: World
