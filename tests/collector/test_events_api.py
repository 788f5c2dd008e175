"""Querying events: filters, cursor pagination, detail, and evidence downloads with HTTP ranges."""

from __future__ import annotations

import datetime as dt

import pytest

from binwatch.collector.blobs import LocalBlobStore
from tests.collector.support import World, clip, jpeg, make_event, sha

T0 = dt.datetime(2026, 11, 20, 1, 0, tzinfo=dt.UTC)


def ids(world: World, **params) -> list[str]:
    r = world.client.get("/api/v1/events", params=params, headers=world.user())
    assert r.status_code == 200, r.text
    return [e["event_id"] for e in r.json()["events"]]


@pytest.fixture
def events(world: World) -> dict[str, dict]:
    made = {
        "a_flag": make_event("dev-a", started_at=T0, flags=("kitchen_contamination",)),
        "a_ok": make_event(
            "dev-a", bin_id="o1", bin_category="other", item="broom", flags=(), started_at=T0 + dt.timedelta(hours=1)
        ),
        "a2_off": make_event(
            "dev-a2",
            bin_id="r1",
            bin_category="recyclable",
            item="paper",
            flags=("off_hours",),
            started_at=T0 + dt.timedelta(hours=2),
        ),
        "b_mixed": make_event(
            "dev-b",
            bin_id="x",
            bin_category="other",
            item="battery",
            flags=("mixed_disposal",),
            started_at=T0 + dt.timedelta(days=1),
        ),
    }
    for body in made.values():
        world.post_event(body)
    return made


def test_filters(world: World, events):
    e = {k: v["event_id"] for k, v in events.items()}
    assert ids(world) == [e["b_mixed"], e["a2_off"], e["a_ok"], e["a_flag"]]
    assert ids(world, site_id="site-a") == [e["a2_off"], e["a_ok"], e["a_flag"]]
    assert ids(world, device_id="dev-a2") == [e["a2_off"]]
    assert ids(world, bin_id="o1") == [e["a_ok"]]
    assert ids(world, flag="mixed_disposal") == [e["b_mixed"]]
    assert ids(world, flagged="true") == [e["b_mixed"], e["a2_off"], e["a_flag"]]
    assert ids(world, flagged="false") == [e["a_ok"]]
    assert ids(world, entity_id=world.entity_id) == [e["a2_off"], e["a_ok"], e["a_flag"]]
    assert ids(
        world, since=(T0 + dt.timedelta(hours=1)).isoformat(), until=(T0 + dt.timedelta(hours=3)).isoformat()
    ) == [e["a2_off"], e["a_ok"]]
    assert ids(world, since="2026-11-20T10:00:00+08:00", until="2026-11-20T11:00:00+08:00") == [e["a_ok"]]
    world.client.post(f"/api/v1/events/{e['a_flag']}/review", json={"action": "confirm"}, headers=world.user())
    assert ids(world, review_status="confirmed") == [e["a_flag"]]
    assert ids(world, review_status="unreviewed", flagged="true") == [e["b_mixed"], e["a2_off"]]


@pytest.mark.parametrize(
    "params",
    [
        {"limit": 0},
        {"limit": 201},
        {"flag": "nope"},
        {"review_status": "maybe"},
        {"site_id": "../etc"},
        {"since": "yesterday"},
        {"cursor": "not-a-cursor"},
        {"cursor": "WyJ4IiwgMV0"},
        {"entity_id": 0},
        {"since": "0001-01-01T00:00:00+10:00"},
        {"since": "2026-11-20T10:00:00"},  # no zone: UTC or Beijing time would be a guess
        {"until": "1763604000"},  # a Unix time
    ],
)
def test_bad_query_parameters_are_422(world: World, params):
    r = world.client.get("/api/v1/events", params=params, headers=world.user())
    assert r.status_code == 422, r.text


def test_cursor_pages_neither_repeat_nor_skip(world: World):
    # Ten events, several sharing a start time, so that the cursor must order by id as well.
    made = [make_event(flags=(), item="food_waste", started_at=T0 + dt.timedelta(minutes=i // 3)) for i in range(10)]
    for body in made:
        world.post_event(body)
    seen, cursor = [], None
    while True:
        params = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        page = world.client.get("/api/v1/events", params=params, headers=world.user()).json()
        seen += [e["event_id"] for e in page["events"]]
        # An event arriving meanwhile (newer than everything) must not disturb the walk.
        world.post_event(make_event(flags=(), item="food_waste", started_at=T0 + dt.timedelta(days=3)))
        cursor = page["next_cursor"]
        if cursor is None:
            break
    expected = sorted(made, key=lambda b: (b["started_at"], b["event_id"]), reverse=True)
    assert seen[-10:] == [b["event_id"] for b in expected]
    assert len(seen) == len(set(seen)) == 10


def test_event_detail_has_evidence_links_and_history(world: World):
    data = {"crop": jpeg(), "clip": clip()}
    body = make_event(evidence=data)
    world.post_event(body)
    world.upload(body, "crop", data["crop"])
    detail = world.client.get(f"/api/v1/events/{body['event_id']}", headers=world.user()).json()
    evidence = {e["kind"]: e for e in detail["evidence"]}
    assert evidence["crop"]["uploaded"] and evidence["crop"]["url"].endswith(
        f"/events/{body['event_id']}/evidence/crop"
    )
    assert not evidence["clip"]["uploaded"] and evidence["clip"]["url"] is None
    assert detail["flags"] == ["kitchen_contamination"] and detail["standing_flags"] == ["kitchen_contamination"]
    assert detail["prediction"]["item"] == "plastic_bag" and detail["history"] == []
    assert world.client.get(f"/api/v1/events/{body['event_id']}/evidence/clip", headers=world.user()).status_code == 404
    missing = make_event()["event_id"]
    assert world.client.get(f"/api/v1/events/{missing}", headers=world.user()).status_code == 404
    assert world.client.get(f"/api/v1/events/{missing}/reviews", headers=world.user()).status_code == 404


class ObjectStore(LocalBlobStore):
    """A store whose blobs have no local path, as in an object store: downloads go through ``read``."""

    def local_path(self, key: str) -> None:
        return None


@pytest.mark.parametrize("local", [True, False], ids=["local file", "object store"])
def test_evidence_download_supports_ranges(world: World, local: bool):
    if not local:
        world.app.state.store = ObjectStore(world.app.state.settings.blob_dir)
    video = clip(10_000, seed=3)
    body = make_event(evidence={"clip": video})
    world.post_event(body)
    world.upload(body, "clip", video)
    url = f"/api/v1/events/{body['event_id']}/evidence/clip"
    full = world.client.get(url, headers=world.user())
    assert full.status_code == 200 and full.content == video and full.headers["content-type"] == "video/mp4"
    assert full.headers["accept-ranges"] == "bytes" and full.headers["content-length"] == "10000"
    assert full.headers["etag"] == f'"{sha(video)}"'
    assert full.headers["content-disposition"] == 'inline; filename="clip.mp4"'

    def get(range_header: str, **extra):
        return world.client.get(url, headers={**world.user(), "Range": range_header, **extra})

    r = get("bytes=100-199")
    assert r.status_code == 206 and r.content == video[100:200]
    assert r.headers["content-range"] == "bytes 100-199/10000" and r.headers["content-length"] == "100"
    r = get("bytes=9990-")
    assert r.status_code == 206 and r.content == video[9990:]
    r = get("bytes=-10")
    assert r.status_code == 206 and r.content == video[-10:]
    r = get("bytes=9000-20000")
    assert r.status_code == 206 and r.content == video[9000:]
    r = get("bytes=10000-")
    assert r.status_code == 416 and r.headers["content-range"] == "bytes */10000"
    assert get("bytes=0-9", **{"If-Range": '"other"'}).status_code == 200
    assert get("bytes=0-9", **{"If-Range": full.headers["etag"]}).status_code == 206
    r = get("bytes=0-1,5-6")
    if local:  # Starlette sends the parts
        assert r.status_code == 206 and r.headers["content-type"].startswith("multipart/byteranges; boundary=")
        for first, last in ((0, 1), (5, 6)):
            assert f"Content-Range: bytes {first}-{last}/10000\r\n\r\n".encode() + video[first : last + 1] in r.content
    else:  # the whole file, which RFC 9110 allows
        assert r.status_code == 200 and r.content == video
    # a range that ends before it starts, or another unit: the header is ignored (RFC 9110), by either store
    assert (get("bytes=5-1").status_code, get("items=0-1").status_code) == (200, 200)
    assert world.client.get(url).status_code == 401
    assert world.client.get(url, headers=world.device()).status_code == 401
