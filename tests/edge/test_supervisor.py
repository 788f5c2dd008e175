"""The agent's helper threads never stop quietly: a failure is logged and the thread restarted; one that
keeps failing stops the agent with status 1 so that the service manager restarts it.

The failure is SQLite's own: ``PRAGMA query_only`` makes every write fail with SQLITE_READONLY,
"attempt to write a readonly database", as a disk remounted read-only does.
"""

from __future__ import annotations

import logging
import threading
import time

from binwatch.edge.live import LiveAgent
from binwatch.edge.supervisor import Supervisor
from tests.edge import scene
from tests.edge.test_delivery import add, setup


def read_only(outbox, on: bool = True) -> None:
    with outbox._lock:
        outbox._db.execute(f"PRAGMA query_only = {int(on)}")


def wait_for(condition, timeout_s: float = 15.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_a_delivery_thread_that_fails_is_restarted_and_delivers_once_it_can(tmp_path, collector, caplog):
    outbox, delivery = setup(tmp_path, collector.url)
    event_id = add(outbox)
    read_only(outbox)
    stop = threading.Event()
    supervisor = Supervisor(stop, max_failures=50, restart_max_s=0.1)
    supervisor.start("delivery", delivery.run)
    wait_for(lambda: "the delivery thread failed" in caplog.text)
    assert "attempt to write a readonly database" in caplog.text and "Traceback" in caplog.text
    assert outbox.depth() == 1 and event_id in collector.events  # posted, but not yet marked: it will be again
    read_only(outbox, False)
    wait_for(lambda: outbox.depth() == 0)
    stop.set()
    delivery.wake()
    supervisor.join(5)
    assert supervisor.failed is None and collector.posts[event_id] >= 2  # the collector deduplicated the repeat
    assert len(collector.events) == 1


def test_a_thread_that_keeps_failing_stops_the_agent(tmp_path, collector, caplog):
    outbox, delivery = setup(tmp_path, collector.url)
    add(outbox)
    read_only(outbox)
    stop = threading.Event()
    supervisor = Supervisor(stop, max_failures=3, restart_max_s=0.05)
    supervisor.start("delivery", delivery.run)
    assert stop.wait(10), "the supervisor did not give up"
    supervisor.join(5)
    assert supervisor.failed and "delivery thread failed 3 times" in supervisor.failed
    assert "stopping the agent with status 1" in caplog.text


def test_the_live_agent_exits_1_when_delivery_cannot_write_instead_of_waiting_forever(
    scene_video, tmp_path, collector, caplog
):
    """A video file ends and the agent waits for its events to be delivered; its outbox turns read-only."""
    caplog.set_level(logging.INFO, logger="binwatch.edge.live")
    collector.fail_with = 503  # nothing gets through, so the events wait in the outbox
    config = scene.site(tmp_path, scene_video, url=collector.url, collector={"retry_max_s": 1})
    live = LiveAgent(config)
    live.supervisor = Supervisor(live.stop, max_failures=3, restart_max_s=0.05)
    result: list[int] = []
    runner = threading.Thread(target=lambda: result.append(live.run()), daemon=True)
    runner.start()
    try:
        wait_for(lambda: "source ended; delivering the" in caplog.text, 60)
        read_only(live.outbox)
        runner.join(30)
    finally:
        live.stop.set()
    assert result == [1]
    assert "the delivery thread failed 3 times" in caplog.text and "attempt to write a readonly database" in caplog.text
