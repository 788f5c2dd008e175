"""Publication to the city platform (Art. 25) against a real mosquitto and a real HTTP receiver on loopback.

Every event, review and work-order step arrives, as JSON that the published JSON Schema accepts; a
receiver or a broker that is down for a while loses nothing, and a receiver that dedupes on the message
id gets each change once; a delivery refused for good is kept for an admin to retry.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager

import jsonschema_rs
import pytest
from fastapi.testclient import TestClient

from binwatch.collector.app import create_app
from binwatch.collector.background import Background
from binwatch.collector.db.tables import utcnow
from binwatch.collector.settings import Settings, Webhook
from binwatch.events.platform import SCHEMA_FILE
from tests.collector.observations import cleared, littering
from tests.collector.receiver import Receiver
from tests.collector.support import Template, World
from tests.mosquitto import Broker, Subscriber

SECRET = "s3cret-of-the-city-platform"
SCHEMA = jsonschema_rs.validator_for(json.loads(SCHEMA_FILE.read_text(encoding="utf-8")))


@contextmanager
def publishing(settings: Settings, template: Template, **update) -> Iterator[World]:
    """The collector with publication configured, serving through its lifespan (so it publishes)."""
    app = create_app(settings.model_copy(update={"publish_retry_max_s": 1.0, **update}))
    try:
        with TestClient(app) as client:
            yield World(
                app, client, template.entity_id, template.device_tokens, template.user_ids, dict(template.logins)
            )
    finally:
        app.state.db.dispose()


def status(world: World) -> dict:
    return {
        t["target"]: t
        for t in world.client.get("/api/v1/platform/status", headers=world.user("admin")).json()["targets"]
    }


def a_day_of_changes(world: World) -> list[str]:
    """Disposals, littering and its clearing, a review, a work order taken on: the event ids posted."""
    posted = []
    for i in range(3):
        body = world.event(started_at=dt.datetime(2026, 11, 20, 9, i, tzinfo=dt.UTC))
        world.post_event(body)
        posted.append(body["event_id"])
    recently = utcnow() - dt.timedelta(minutes=2)  # too recent for an automatic work order to interfere
    litter = littering(recently, device_id="dev-b", zone_id="g1")
    world.post_event(litter)
    clearing = cleared(litter, recently + dt.timedelta(minutes=1), device_id="dev-b")
    world.post_event(clearing)
    posted += [litter["event_id"], clearing["event_id"]]
    r = world.client.post(f"/api/v1/events/{posted[0]}/review", json={"action": "confirm"}, headers=world.user())
    assert r.status_code == 200
    order = world.client.post("/api/v1/work-orders", json={"event_id": posted[0]}, headers=world.user()).json()
    r = world.client.post(f"/api/v1/work-orders/{order['order_id']}/acknowledge", json={}, headers=world.user("erin"))
    assert r.status_code == 200
    return posted


def check_messages(messages: list[dict], posted: list[str]) -> None:
    """Valid by the schema, each change once after deduping on message_id, every posted event once as new."""
    for message in messages:
        SCHEMA.validate(message)
    unique = {m["message_id"]: m for m in messages}
    kinds = Counter((m["type"], m.get("change") or m.get("step", {}).get("action")) for m in unique.values())
    assert kinds == Counter({("event", "new"): 5, ("event", "resolved"): 1, ("review", None): 1,
                             ("work_order", "create"): 1, ("work_order", "acknowledge"): 1})  # fmt: skip
    new = Counter(m["event"]["event"]["event_id"] for m in unique.values() if m.get("change") == "new")
    assert new == Counter(posted)
    resolved = next(m for m in unique.values() if m.get("change") == "resolved")
    assert resolved["event"]["event"]["event_id"] == posted[3] and resolved["event"]["resolved_by"] == posted[4]


def test_every_change_goes_to_mqtt_topics_per_site(settings: Settings, template: Template, tmp_path):
    broker = Broker(tmp_path / "broker").start()
    subscriber = Subscriber(broker.port, "binwatch/#")
    try:
        with publishing(settings, template, mqtt_url=broker.url) as world:
            posted = a_day_of_changes(world)
            subscriber.wait_until(lambda s: len(s.json("binwatch/site")) >= 9)
            check_messages([m for _, m in subscriber.json("binwatch/site")], posted)
            topics = Counter(topic for topic, _ in subscriber.json("binwatch/site"))
            assert topics == Counter({"binwatch/site-a/events": 3, "binwatch/site-b/events": 3,
                                      "binwatch/site-a/reviews": 1, "binwatch/site-a/work_orders": 2})  # fmt: skip
            first = next(m for _, m in subscriber.json("binwatch/site-a/events"))
            assert first["event"]["event"]["event_id"] == posted[0] and first["entity_id"] == world.entity_id
            late = Subscriber(broker.port, "binwatch/available")  # the retained availability
            late.wait_until(lambda s: s.messages and s.messages[-1][1:] == (b"online", True))
            late.close()
            assert status(world)["mqtt"]["counts"]["delivered"] == 9
        after = Subscriber(broker.port, "binwatch/available")  # a clean stop says so
        after.wait_until(lambda s: s.messages and s.messages[-1][1:] == (b"offline", True))
        after.close()
    finally:
        subscriber.close()
        broker.stop()


def test_a_broker_down_for_a_while_loses_nothing(settings: Settings, template: Template, tmp_path):
    broker = Broker(tmp_path / "broker", persistent=True).start()
    Subscriber(broker.port, "binwatch/+/+", session="city-platform").close()  # its session outlives it
    broker.stop()
    with publishing(settings, template, mqtt_url=broker.url) as world:
        posted = a_day_of_changes(world)
        world.app.state.background.stopping.wait(2.5)  # tries fail meanwhile
        waiting = status(world)["mqtt"]
        assert waiting["counts"]["pending"] == 9 and waiting["counts"]["delivered"] == 0
        assert "not connected" in waiting["last_error"]
        broker.start()
        deadline = dt.datetime.now() + dt.timedelta(seconds=40)
        while status(world)["mqtt"]["counts"]["delivered"] < 9:
            assert dt.datetime.now() < deadline, status(world)
            world.app.state.background.stopping.wait(0.2)
    subscriber = Subscriber(broker.port, "binwatch/+/+", session="city-platform")
    try:
        subscriber.wait_until(lambda s: len({m["message_id"] for _, m in s.json()}) >= 9)
        check_messages([m for _, m in subscriber.json()], posted)
    finally:
        subscriber.close()
        broker.stop()


def test_a_webhook_receiver_down_for_a_while_gets_everything_once_in_order(settings: Settings, template: Template):
    receiver = Receiver(SECRET)  # its port is chosen, but nothing listens there yet
    hook = Webhook(name="city", url=receiver.url, secret=SECRET)
    with publishing(settings, template, webhooks=[hook]) as world:
        posted = a_day_of_changes(world)
        world.app.state.background.stopping.wait(2.5)
        waiting = status(world)["city"]
        assert waiting["counts"]["pending"] == 9 and "ConnectError" in waiting["last_error"]
        receiver.start()
        receiver.wait_until(lambda r: len(r.accepted) >= 9)
        receiver.status = 503  # down again, answering this time
        more = world.event()
        world.post_event(more)
        receiver.wait_until(lambda r: r.tries >= 11)
        receiver.status = 200
        receiver.wait_until(lambda r: len(r.accepted) >= 10)
        world.app.state.background.stopping.wait(0.5)
        assert status(world)["city"]["counts"] == {"pending": 0, "delivered": 10, "refused": 0, "cancelled": 0}
    receiver.stop()
    messages = receiver.messages()
    check_messages(messages[:9], posted)
    assert len({m["message_id"] for m in messages}) == len(messages) == 10  # nothing doubled
    assert [r["delivery"] for r in receiver.accepted] == [m["message_id"] for m in messages]
    assert [m["created_at"] for m in messages] == sorted(m["created_at"] for m in messages)  # in order of changes
    assert messages[-1]["event"]["event"]["event_id"] == more["event_id"]
    assert receiver.refused_signatures == 0


def test_a_refused_delivery_waits_for_an_admin_and_the_rest_goes_on(settings: Settings, template: Template):
    receiver = Receiver("another secret entirely").start()  # refuses our signature: 401, a final answer
    hook = Webhook(name="city", url=receiver.url, secret=SECRET)
    with publishing(settings, template, webhooks=[hook]) as world:
        first, second = world.event(), world.event()
        world.post_event(first)
        receiver.wait_until(lambda r: r.refused_signatures == 1)
        receiver.secret = SECRET
        world.post_event(second)
        receiver.wait_until(lambda r: len(r.accepted) == 1)
        admin = world.user("admin")
        refused = world.client.get("/api/v1/platform/deliveries", params={"state": "refused"}, headers=admin).json()
        (delivery,) = refused["deliveries"]
        assert (delivery["target"], delivery["last_status"], delivery["attempts"]) == ("city", 401, 1)
        r = world.client.post(f"/api/v1/platform/deliveries/{delivery['id']}/retry", headers=admin)
        assert r.status_code == 200 and r.json()["state"] == "pending"
        receiver.wait_until(lambda r: len(r.accepted) == 2)
        again = world.client.post(f"/api/v1/platform/deliveries/{delivery['id']}/retry", headers=admin)
        world.app.state.background.stopping.wait(0.3)
        assert again.status_code in (200, 409)
    receiver.stop()
    new = [m["event"]["event"]["event_id"] for m in receiver.messages()]
    assert new == [second["event_id"], first["event_id"]]


def test_a_webhook_removed_from_the_settings_has_its_deliveries_cancelled(settings: Settings, template: Template):
    receiver = Receiver(SECRET)  # never started
    with publishing(settings, template, webhooks=[Webhook(name="old", url=receiver.url, secret=SECRET)]) as world:
        world.post_event(world.event())
    with publishing(settings, template) as world:
        world.app.state.background.run_duties()
        old = status(world)["old"]
        assert old["configured"] is False and old["counts"]["cancelled"] == 1 and old["counts"]["pending"] == 0


def test_nothing_is_queued_without_targets(world: World):
    world.post_event(world.event())
    assert status(world) == {}


def test_one_process_at_a_time_does_the_background_work(settings: Settings):
    from binwatch.collector.db.engine import Database

    db = Database(settings.db_url)
    first, second = Background(db, settings), Background(db, settings)
    now = dt.datetime.now(dt.UTC)
    assert first.hold_lease(now) and not second.hold_lease(now)
    assert first.hold_lease(now + dt.timedelta(seconds=10))  # renewed
    assert not second.hold_lease(now + dt.timedelta(seconds=35))  # still within the renewed lease
    assert second.hold_lease(now + dt.timedelta(seconds=41))  # the first went quiet: taken over
    assert not first.hold_lease(now + dt.timedelta(seconds=42))
    second.release_lease()
    assert first.hold_lease()
    db.dispose()


@pytest.mark.parametrize("bad", [{"mqtt_url": "http://broker"}, {"webhooks": [{"name": "mqtt", "url": "http://x",
                                                                                "secret": SECRET}]}])  # fmt: skip
def test_bad_platform_settings_are_refused(bad):
    with pytest.raises(ValueError):
        Settings(**bad)
