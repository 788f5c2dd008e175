"""Delivery against a stand-in collector on 127.0.0.1: at least once, never twice on the collector."""

from __future__ import annotations

import random
import threading

import httpx
import pytest

from binwatch.edge.backoff import backoff_s
from binwatch.edge.client import CollectorClient, Outcome, judge
from binwatch.edge.config import CollectorConfig
from binwatch.edge.delivery import Delivery
from binwatch.edge.outbox import Outbox
from binwatch.edge.storage import Layout
from tests.edge.collector_stub import TOKEN
from tests.edge.test_outbox import make_event


def setup(tmp_path, url, token=TOKEN):
    config = CollectorConfig(url=url, token=token, timeout_s=2, retry_max_s=1)
    outbox = Outbox(Layout(tmp_path))
    client = CollectorClient(config)
    return outbox, Delivery(outbox, client, config, rng=random.Random(0))


def add(outbox, flagged=True, sizes=None):
    event, files = make_event(outbox.layout, flagged, sizes or {"snapshot": 500, "crop": 200, "clip": 3000})
    outbox.add(event, files)
    return str(event.event_id)


def run_until_empty(delivery, outbox, limit=50):
    for _ in range(limit):
        if outbox.depth() == 0:
            return
        delivery.step()
    raise AssertionError(f"{outbox.depth()} events left")


def test_events_and_their_files_arrive_and_leave_the_box(tmp_path, collector):
    outbox, delivery = setup(tmp_path, collector.url)
    ids = [add(outbox), add(outbox, flagged=False, sizes={"crop": 100})]
    run_until_empty(delivery, outbox)
    assert set(collector.events) == set(ids)
    assert {k for (e, k) in collector.evidence if e == ids[0]} == {"snapshot", "crop", "clip"}
    assert list(outbox.layout.evidence.iterdir()) == []
    assert outbox.summary()["states"]["delivered"]["events"] == 2


def test_a_collector_that_is_down_is_retried_with_backoff_until_it_is_back(tmp_path, collector):
    collector.down()
    outbox, delivery = setup(tmp_path, collector.url)
    event_id = add(outbox)
    assert delivery.step() > 0
    assert 0 < delivery.step() <= 1 and outbox.summary()["max_attempts"] == 1  # the row waits its turn
    for _ in range(2):
        outbox._db.execute("UPDATE events SET next_attempt_at = 0")  # skip the row's own wait
        assert delivery.step() > 0
    summary = outbox.summary()
    assert delivery.failures == 3 and summary["max_attempts"] == 3
    assert summary["states"]["pending"]["events"] == 1 and "ConnectError" in summary["last_error"]
    collector.up()
    outbox._db.execute("UPDATE events SET next_attempt_at = 0")
    run_until_empty(delivery, outbox)
    assert list(collector.events) == [event_id] and delivery.failures == 0


def test_a_lost_answer_means_a_second_post_and_still_one_event(tmp_path, collector):
    outbox, delivery = setup(tmp_path, collector.url)
    event_id = add(outbox)
    collector.lose.update(POST=1, PUT=1)  # the event is stored, then a file; neither answer arrives
    for _ in range(6):
        delivery.step()
        outbox._db.execute("UPDATE events SET next_attempt_at = 0")
    assert outbox.depth() == 0
    assert collector.posts[event_id] == 2 and list(collector.events) == [event_id]
    assert {k for (_, k) in collector.evidence} == {"snapshot", "crop", "clip"}
    assert outbox.summary()["states"]["delivered"]["events"] == 1


def test_5xx_and_429_are_retried_honouring_retry_after(tmp_path, collector):
    outbox, delivery = setup(tmp_path, collector.url)
    add(outbox)
    collector.fail_with = 503
    assert delivery.step() > 0 and outbox.depth() == 1
    response = httpx.Response(429, headers={"Retry-After": "7"})
    assert judge(response).outcome is Outcome.RETRY and judge(response).retry_after_s == 7
    assert judge(httpx.Response(408)).outcome is Outcome.RETRY


def test_an_event_the_collector_finds_too_early_waits_instead_of_being_parked(tmp_path, collector):
    """The collector refuses an event dated ahead of its clock with 422 and Retry-After: a box whose clock
    runs a little fast gets its event in once the collector's clock has caught up, instead of losing it."""
    outbox, delivery = setup(tmp_path, collector.url)
    event_id = add(outbox)
    collector.fail_with, collector.fail_headers = 422, {"Retry-After": "30"}
    assert delivery.step() > 0
    summary = outbox.summary()
    assert summary["parked"] == [] and summary["backlog"] == 1 and "422" in summary["last_error"]
    collector.fail_with = None
    outbox._db.execute("UPDATE events SET next_attempt_at = 0")  # the wait is over
    run_until_empty(delivery, outbox)
    assert event_id in collector.events
    assert judge(httpx.Response(422)).outcome is Outcome.REFUSED  # without Retry-After: for good


def test_a_conflict_is_parked_loudly_and_the_queue_moves_on(tmp_path, collector, caplog):
    outbox, delivery = setup(tmp_path, collector.url)
    first = add(outbox)
    collector.events[first] = {"someone": "else"}  # the collector holds another body under this id
    second = add(outbox)
    run_until_empty(delivery, outbox)
    summary = outbox.summary()
    assert summary["parked"][0]["event_id"] == first and "409" in summary["parked"][0]["error"]
    assert "PARKED event" in caplog.text
    assert second in collector.events


def test_a_refused_file_is_dropped_and_the_event_still_completes(tmp_path, collector, caplog):
    outbox, delivery = setup(tmp_path, collector.url)
    event_id = add(outbox, sizes={"snapshot": 100, "crop": 50})
    (outbox.layout.evidence / f"{event_id}-crop").write_bytes(b"x" * 50)  # corrupted on disk: the hash differs
    run_until_empty(delivery, outbox)
    assert set(k for (_, k) in collector.evidence) == {"snapshot"}
    assert outbox.summary()["files_refused"] == 1 and "refused the crop" in caplog.text


def test_a_rejected_token_is_not_parked_because_every_event_would_be(tmp_path, collector, caplog):
    outbox, delivery = setup(tmp_path, collector.url, token="wrong")
    add(outbox)
    assert delivery.step() > 0
    assert outbox.summary()["states"]["pending"]["events"] == 1 and outbox.summary()["parked"] == []
    assert "does not accept this device's token" in caplog.text


def test_the_delivery_thread_wakes_for_new_events_and_stops_on_request(tmp_path, collector):
    outbox, delivery = setup(tmp_path, collector.url)
    stop = threading.Event()
    thread = threading.Thread(target=delivery.run, args=(stop,))
    thread.start()
    event_id = add(outbox)
    delivery.wake()
    for _ in range(100):
        if outbox.depth() == 0:
            break
        stop.wait(0.05)
    stop.set()
    delivery.wake()
    thread.join(timeout=5)
    assert not thread.is_alive() and event_id in collector.events


@pytest.mark.parametrize("attempt", [1, 2, 5, 40])
def test_backoff_grows_exponentially_with_jitter_and_a_cap(attempt):
    rng = random.Random(attempt)
    waits = [backoff_s(attempt, 60, rng) for _ in range(200)]
    step = min(60, 2 ** (attempt - 1))
    assert all(step / 2 <= w <= step for w in waits) and len(set(waits)) > 100
