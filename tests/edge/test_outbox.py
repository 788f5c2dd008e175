"""The outbox: durable files before rows, recovery after a crash at any point, the storage budget."""

from __future__ import annotations

import hashlib
import os
import signal
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
