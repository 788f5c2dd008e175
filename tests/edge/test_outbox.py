"""The outbox: durable files before rows, recovery after a crash at any point, the storage budget."""

from __future__ import annotations

import hashlib
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
import uuid
from datetime import timedelta
from pathlib import Path

import pytest

from binwatch.edge.evidence import EvidenceFile
from binwatch.edge.offline import OFFLINE_START
from binwatch.edge.outbox import Outbox
from binwatch.edge.storage import Layout, place_bytes
from binwatch.events.schema import Event, Evidence, EvidenceKind, Flag

ROOT = Path(__file__).resolve().parents[2]


def make_event(layout: Layout, flagged: bool, sizes: dict[str, int]) -> tuple[Event, list[EvidenceFile]]:
    event_id = uuid.uuid4()
    files = []
    for kind, size in sizes.items():
        data = os.urandom(size)
        path = place_bytes(layout, f"{event_id}-{kind}", data)
        files.append(
            EvidenceFile(
                Evidence(kind=EvidenceKind(kind), name=path.name, sha256=hashlib.sha256(data).hexdigest(), size=size),
                path,
            )
        )
    event = Event(
        event_id=event_id,
        device_id="box-1",
        site_id="site-1",
        bin_id="green-1",
        bin_category="kitchen",
        started_at=OFFLINE_START,
        ended_at=OFFLINE_START + timedelta(seconds=2),
        model_version="test",
        flags=[Flag.MIXED_DISPOSAL] if flagged else [],
        evidence=[f.evidence for f in files],
    )
    return event, files


def test_an_added_event_is_due_with_its_files_and_its_exact_body(tmp_path):
    outbox = Outbox(Layout(tmp_path))
    event, files = make_event(outbox.layout, True, {"snapshot": 100, "clip": 300})
    outbox.add(event, files)
    row = outbox.due()
    assert row.event_id == str(event.event_id) and row.flagged and row.state == "pending"
    assert Event.model_validate_json(row.body) == event
    assert [f.kind for f in outbox.pending_files(row.event_id)] == ["clip", "snapshot"]
    assert outbox.depth() == 1
    outbox.mark_sent(row.event_id)
    for file in outbox.pending_files(row.event_id):
        outbox.settle_file(row.event_id, file, "uploaded")
    outbox.mark_delivered(row.event_id)
    assert outbox.depth() == 0 and outbox.due() is None
    assert list(outbox.layout.evidence.iterdir()) == []  # uploaded files leave the disk


def test_a_crash_between_writing_the_files_and_committing_the_row_leaves_nothing_behind(tmp_path):
    # The child writes an event's files durably, then dies before the outbox row commits.
    script = textwrap.dedent(f"""
        import os, sys
        sys.path.insert(0, {str(ROOT)!r})
        sys.path.insert(0, {str(Path(__file__).parent)!r})
        from pathlib import Path
        from binwatch.edge.outbox import Outbox
        from binwatch.edge.storage import Layout
        from test_outbox import make_event
        outbox = Outbox(Layout(Path({str(tmp_path)!r})))
        committed, files = make_event(outbox.layout, True, {{"snapshot": 64}})
        outbox.add(committed, files)
        print(committed.event_id, flush=True)
        make_event(outbox.layout, True, {{"snapshot": 64, "clip": 128}})
        (outbox.layout.tmp / "half-written.mp4").write_bytes(b"partial")
        os._exit(9)  # no commit, no cleanup: as if the power went
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert result.returncode == 9, result.stderr
    committed_id = result.stdout.strip()
    layout = Layout(tmp_path)
    assert len(list(layout.evidence.iterdir())) == 3 and len(list(layout.tmp.iterdir())) == 1

    outbox = Outbox(layout)
    outbox.recover()
    assert [p.name for p in layout.evidence.iterdir()] == [f"{committed_id}-snapshot"]
    assert list(layout.tmp.iterdir()) == []
    assert outbox.due().event_id == committed_id and outbox.depth() == 1


def test_killed_at_a_random_moment_every_committed_event_keeps_its_files(tmp_path):
    """SIGKILL a writer in full flow; after recovery rows and files agree exactly."""
    script = textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {str(ROOT)!r})
        sys.path.insert(0, {str(Path(__file__).parent)!r})
        from pathlib import Path
        from binwatch.edge.outbox import Outbox
        from binwatch.edge.storage import Layout
        from test_outbox import make_event
        outbox = Outbox(Layout(Path({str(tmp_path)!r})))
        print("ready", flush=True)
        while True:
            event, files = make_event(outbox.layout, True, {{"snapshot": 2000, "crop": 500, "clip": 20000}})
            outbox.add(event, files)
    """)
    child = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert child.stdout.readline().strip() == "ready"
    time.sleep(0.4)
    child.send_signal(signal.SIGKILL)
    child.wait()

    outbox = Outbox(Layout(tmp_path))
    outbox.recover()
    committed = outbox.summary()["states"]["pending"]["events"]
    assert committed > 0
    on_disk = {p.name: p.read_bytes() for p in outbox.layout.evidence.iterdir()}
    assert len(on_disk) == 3 * committed
    while (row := outbox.due()) is not None:
        event = Event.model_validate_json(row.body)
        for evidence in event.evidence:
            assert hashlib.sha256(on_disk[evidence.name]).hexdigest() == evidence.sha256
        outbox.mark_delivered(row.event_id)


def test_the_budget_evicts_unflagged_files_first_then_clips_then_the_rest(tmp_path, caplog):
    outbox = Outbox(Layout(tmp_path))
    flagged_old = make_event(outbox.layout, True, {"snapshot": 100_000, "crop": 100_000, "clip": 1_000_000})
    unflagged = make_event(outbox.layout, False, {"crop": 100_000})
    flagged_new = make_event(outbox.layout, True, {"snapshot": 100_000, "crop": 100_000, "clip": 1_000_000})
    for event, files in (flagged_old, unflagged, flagged_new):
        outbox.add(event, files)
    database = outbox.stored_bytes() - 2_500_000  # the SQLite files; they grow a little with each update
    old, new = str(flagged_old[0].event_id), str(flagged_new[0].event_id)

    def evicted(budget):
        return [(f.name[:36], f.kind) for f in outbox.enforce_budget(database + budget)]

    assert evicted(2_550_000) == []
    assert evicted(2_450_000) == [(str(unflagged[0].event_id), "crop")]
    assert evicted(1_500_000) == [(old, "clip")]
    last = evicted(250_000)
    assert last[0] == (new, "clip") and sorted(last[1:]) == [(old, "crop"), (old, "snapshot")]
    assert "evicted the crop of unflagged event" in caplog.text
    assert outbox.depth() == 3  # events are never evicted, only files
    assert [f.kind for f in outbox.pending_files(new)] == ["crop", "snapshot"]
    assert outbox.summary()["files_evicted"] == 5
    assert len(list(outbox.layout.evidence.iterdir())) == 2


def test_status_reads_a_live_outbox_without_writing_and_refuses_a_missing_one(tmp_path):
    outbox = Outbox(Layout(tmp_path))
    event, files = make_event(outbox.layout, False, {"crop": 10})
    outbox.add(event, files)
    outbox.retry_later(str(event.event_id), 60, "event: ConnectError")
    reader = Outbox(Layout(tmp_path), readonly=True)
    summary = reader.summary()
    assert summary["backlog"] == 1 and summary["last_error"] == "event: ConnectError" and summary["max_attempts"] == 1
    with pytest.raises(FileNotFoundError, match="no outbox"):
        Outbox(Layout(tmp_path / "elsewhere"), readonly=True)


def test_delivered_rows_are_pruned_after_a_while(tmp_path):
    outbox = Outbox(Layout(tmp_path))
    event, files = make_event(outbox.layout, False, {})
    outbox.add(event, files)
    outbox.mark_delivered(str(event.event_id))
    assert outbox.prune_delivered(3600) == 0
    assert outbox.prune_delivered(-1) == 1


# The outbox file as the first releases wrote it (no PRAGMA user_version): deployed boxes hold such files,
# with undelivered events in them, when they are upgraded.
FIRST_RELEASE_SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    event_id TEXT PRIMARY KEY,
    created_at REAL NOT NULL,
    bin_id TEXT NOT NULL,
    flagged INTEGER NOT NULL,
    body TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'sent', 'delivered', 'parked')),
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at REAL NOT NULL,
    last_error TEXT,
    delivered_at REAL
);
CREATE INDEX IF NOT EXISTS events_due ON events (state, next_attempt_at);
CREATE TABLE IF NOT EXISTS evidence (
    event_id TEXT NOT NULL REFERENCES events (event_id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    size INTEGER NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'uploaded', 'evicted', 'refused')),
    PRIMARY KEY (event_id, kind)
);
"""


def first_release_outbox(layout: Layout) -> dict[str, Event]:
    """A file of the first release's format: a pending event, one accepted with a file left, one delivered."""
    layout.create()
    db = sqlite3.connect(layout.database, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.executescript(FIRST_RELEASE_SCHEMA)
    events = {}
    for state, sizes in (("pending", {"snapshot": 700, "clip": 5000}), ("sent", {"crop": 300}), ("delivered", {})):
        event, files = make_event(layout, state == "pending", sizes)
        events[state] = event
        db.execute(
            "INSERT INTO events (event_id, created_at, bin_id, flagged, body, state, next_attempt_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (str(event.event_id), time.time(), event.bin_id, int(event.flagged), event.model_dump_json(), state, 0),
        )
        for f in files:
            db.execute(
                "INSERT INTO evidence (event_id, kind, name, size) VALUES (?, ?, ?, ?)",
                (str(event.event_id), f.evidence.kind.value, f.path.name, f.evidence.size),
            )
    db.close()
    return events


def test_a_first_release_outbox_is_upgraded_and_its_undelivered_events_are_delivered(tmp_path, collector):
    from binwatch.edge.client import CollectorClient
    from binwatch.edge.config import CollectorConfig
    from binwatch.edge.delivery import Delivery
    from binwatch.edge.outbox import VERSION

    layout = Layout(tmp_path)
    events = first_release_outbox(layout)
    outbox = Outbox(layout)
    assert outbox._read("PRAGMA user_version")[0][0] == VERSION >= 2
    outbox.recover()
    assert outbox.depth() == 2 and len(list(layout.evidence.iterdir())) == 3  # nothing lost in the upgrade
    # Version 2 takes events about a zone, which have no bin.
    zone_event = Event(
        kind="littering",
        event_id=uuid.uuid4(),
        device_id="box-1",
        site_id="site-1",
        zone_id="ground-1",
        started_at=OFFLINE_START,
        ended_at=OFFLINE_START,
        model_version="test",
    )
    assert outbox.add(zone_event, [])

    config = CollectorConfig(url=collector.url, token="secret", timeout_s=2, retry_max_s=1)
    delivery = Delivery(outbox, CollectorClient(config), config)
    # The collector stand-in knows disposals' evidence; the sent event's body must be there already.
    collector.events[str(events["sent"].event_id)] = events["sent"].model_dump(mode="json")
    for _ in range(20):
        if outbox.depth() == 0:
            break
        delivery.step()
    assert outbox.depth() == 0
    for state in ("pending", "sent"):
        event = events[state]
        for evidence in event.evidence:
            data = collector.evidence[(str(event.event_id), evidence.kind.value)]
            assert hashlib.sha256(data).hexdigest() == evidence.sha256
    assert str(events["delivered"].event_id) not in collector.posts  # delivered before the upgrade: not again
    assert Outbox(layout)._read("PRAGMA user_version")[0][0] == VERSION  # opening it again changes nothing


def test_an_outbox_of_a_newer_binwatch_is_refused_not_downgraded(tmp_path):
    from binwatch.edge.outbox import VERSION, OutboxError

    Outbox(Layout(tmp_path)).close()
    with sqlite3.connect(Layout(tmp_path).database) as db:
        db.execute(f"PRAGMA user_version = {VERSION + 1}")
    with pytest.raises(OutboxError, match=f"newer binwatch \\(outbox schema {VERSION + 1}"):
        Outbox(Layout(tmp_path))


def test_a_full_disk_at_commit_costs_waiting_evidence_never_a_committed_event(tmp_path, caplog):
    """SQLite's page limit gives the error a full disk gives: SQLITE_FULL, "database or disk is full"."""
    outbox = Outbox(Layout(tmp_path))
    committed = []
    for flagged in (False, True):
        event, files = make_event(outbox.layout, flagged, {"crop": 20_000} if not flagged else {"clip": 50_000})
        assert outbox.add(event, files)
        committed.append(str(event.event_id))
    with outbox._lock:  # fill the file's pages to a limit with old delivered rows: the next commit finds no room
        db = outbox._db
        db.execute(f"PRAGMA max_page_count = {db.execute('PRAGMA page_count').fetchone()[0] + 4}")
        with pytest.raises(sqlite3.OperationalError, match="full"):
            while True:
                db.execute(
                    "INSERT INTO events (event_id, created_at, bin_id, flagged, body, state, next_attempt_at)"
                    " VALUES (hex(randomblob(16)), 0, 'b', 0, hex(randomblob(300)), 'delivered', 0)"
                )
    event, files = make_event(outbox.layout, True, {"snapshot": 1000})
    assert outbox.add(event, files) is False  # no crash, and the loss is said
    assert f"LOST disposal {event.event_id}" in caplog.text and "database or disk is full" in caplog.text
    assert "the disk is full" in caplog.text and "evicted the crop of unflagged event" in caplog.text
    assert not files[0].path.exists()  # the lost event's files do not linger
    undelivered = "SELECT event_id FROM events WHERE state = 'pending' ORDER BY created_at"
    assert [r[0] for r in outbox._read(undelivered)] == committed
    assert outbox.stored(uuid.UUID(committed[1])).flags == [Flag.MIXED_DISPOSAL]
    with outbox._lock:
        outbox._db.execute("PRAGMA max_page_count = 1073741823")
    event, files = make_event(outbox.layout, False, {"crop": 100})
    assert outbox.add(event, files) and outbox.depth() == 3  # room again: commits go on


def test_the_budget_keeps_the_reserve_free_on_the_device(tmp_path, caplog):
    outbox = Outbox(Layout(tmp_path))
    for flagged in (True, False):
        event, files = make_event(outbox.layout, flagged, {"crop": 1000, "clip": 4000})
        outbox.add(event, files)
    assert outbox.enforce_budget(10 * 2**30) == []  # far within the budget, and no reserve
    outbox.reserve_bytes = outbox.free_bytes() + 2**30  # more than the device has free: all evidence must go
    evicted = outbox.enforce_budget(10 * 2**30)
    assert len(evicted) == 4 and "less than the reserve" in caplog.text
    assert "no waiting evidence is left to evict" in caplog.text
    assert outbox.depth() == 2 and list(outbox.layout.evidence.iterdir()) == []  # the events stay
