"""The retraining export: reviewed crops in the shared data set's manifest format, readable by datasets/."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from pathlib import Path

import pytest

from binwatch.collector.export import MANIFEST_COLUMNS
from tests.collector.support import World, jpeg, make_event

SHARED_MANIFEST = Path(__file__).resolve().parents[3] / "shared" / "datasets" / "waste-v1" / "manifest.csv"


@pytest.fixture
def reviewed(world: World) -> dict[str, str]:
    """confirmed (with crop), corrected (with crop), rejected (with crop), unreviewed, confirmed without crop."""
    made = {}
    for name, item, action, with_crop in (
        ("confirmed", "plastic_bag", {"action": "confirm"}, True),
        ("corrected", "plastic_bag", {"action": "correct", "item": "eggshell"}, True),
        ("rejected", "plastic_bag", {"action": "reject"}, True),
        ("unreviewed", "plastic_bag", None, True),
        ("no_crop", "plastic_bag", {"action": "confirm"}, False),
    ):
        crop = jpeg(72 + len(made), 40, seed=len(made))
        body = make_event(item=item, evidence={"crop": crop})
        world.post_event(body)
        if with_crop:
            assert world.upload(body, "crop", crop).status_code == 201
        if action:
            assert (
                world.client.post(
                    f"/api/v1/events/{body['event_id']}/review", json=action, headers=world.user()
                ).status_code
                == 200
            )
        made[name] = body["event_id"]
    return made


def test_columns_are_those_of_the_shared_data_set():
    from binwatch.datasets.manifest import MANIFEST_COLUMNS as DATASET_COLUMNS

    assert MANIFEST_COLUMNS == DATASET_COLUMNS
    if SHARED_MANIFEST.is_file():
        with SHARED_MANIFEST.open(encoding="utf-8") as f:
            assert tuple(next(csv.reader(f))) == MANIFEST_COLUMNS


def test_zip_export_holds_confirmed_and_corrected_crops(world: World, reviewed, tmp_path):
    r = world.client.get("/api/v1/export/reviewed.zip", headers=world.user("admin"))
    assert r.status_code == 200 and r.headers["content-type"] == "application/zip"
    assert (r.headers["x-exported"], r.headers["x-skipped"]) == ("2", "0")
    archive = zipfile.ZipFile(io.BytesIO(r.content))
    rows = list(csv.DictReader(io.StringIO(archive.read("manifest.csv").decode("utf-8"))))
    assert tuple(rows[0]) == MANIFEST_COLUMNS
    by_event = {row["group"].removeprefix("review-"): row for row in rows}
    assert set(by_event) == {reviewed["confirmed"], reviewed["corrected"]}
    confirmed, corrected = by_event[reviewed["confirmed"]], by_event[reviewed["corrected"]]
    assert (confirmed["item"], confirmed["category"]) == ("plastic_bag", "other")
    assert (corrected["item"], corrected["category"]) == ("eggshell", "kitchen")
    assert corrected["path"] == f"images/review/eggshell/{reviewed['corrected']}.jpg"
    assert (corrected["source"], corrected["source_class"]) == ("review", "site-a")
    assert (corrected["width"], corrected["height"]) == ("73", "40")
    data = archive.read(corrected["path"])
    import hashlib

    assert hashlib.sha256(data).hexdigest() == corrected["sha256"] == corrected["orig_sha256"]
    meta = [json.loads(line) for line in archive.read("events.jsonl").decode().splitlines()]
    assert {m["event_id"]: m["predicted_item"] for m in meta}[reviewed["corrected"]] == "plastic_bag"
    assert {m["review_status"] for m in meta} == {"confirmed", "corrected"}

    # The training side reads it like any other data set.
    from binwatch.datasets.manifest import load

    archive.extractall(tmp_path / "export")
    samples = load(tmp_path / "export")
    assert sorted((s.item, s.category) for s in samples.samples) == [("eggshell", "kitchen"), ("plastic_bag", "other")]
    assert not samples.skipped


def test_export_is_for_admins(world: World, reviewed):
    assert world.client.get("/api/v1/export/reviewed.zip", headers=world.user("rita")).status_code == 403
    assert world.client.get("/api/v1/export/reviewed.zip").status_code == 401
    assert world.client.get("/api/v1/export/reviewed.zip", headers=world.device()).status_code == 401


def test_export_filters(world: World, reviewed):
    r = world.client.get("/api/v1/export/reviewed.zip", params={"site_id": "site-b"}, headers=world.user("admin"))
    assert r.headers["x-exported"] == "0"
    r = world.client.get("/api/v1/export/reviewed.zip", params={"since": "2026-11-21"}, headers=world.user("admin"))
    assert r.headers["x-exported"] == "0"
    r = world.client.get("/api/v1/export/reviewed.zip", params={"until": "2026-11-20"}, headers=world.user("admin"))
    assert r.headers["x-exported"] == "2"
