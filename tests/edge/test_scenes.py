"""The agent in staged situations, each drawn by the simulator and run through the real model:
one rule of the segmentation per test."""

from __future__ import annotations

import uuid
from dataclasses import replace

import numpy as np
import pytest

from binwatch.edge import agent as agent_module
from binwatch.edge import consensus
from binwatch.edge.agent import Agent
from binwatch.edge.eventid import FileEventIds
from binwatch.edge.offline import OFFLINE_START
from binwatch.edge.outbox import Outbox
from binwatch.edge.simulator.conditions import named
from binwatch.edge.simulator.timeline import ExposureJump
from binwatch.edge.storage import Layout
from binwatch.events.schema import EventKind, Flag
from tests.edge import staged


@pytest.fixture
def agent_for(classifier):
    def make(scene: staged.Staged) -> Agent:
        return Agent(scene.site, classifier)

    return make


def test_a_hesitating_hand_does_not_end_the_disposal(agent_for):
    # The hand keeps still over the opening for 2.5 s before letting go.
    scene = staged.stage([staged.disposal(0, 1.0, [["plastic_bottle"]], hesitate_s=2.5)], 12.0)
    events = scene.run(agent_for(scene))
    reach = scene.timeline.visits[0].reaches[0]
    assert len(events) == 1
    started, ended = scene.seconds(events[0])
    assert ended >= reach.release / staged.FPS  # not concluded while the hand hesitated
    assert events[0].prediction is not None and Flag.ITEM_UNSEEN not in events[0].flags


def test_somebody_standing_in_front_of_a_bin_is_no_disposal(agent_for):
    scene = staged.stage([staged.bystander(1, 1.0, 8.0, distance=0.0)], 14.0)
    agent = agent_for(scene)
    assert scene.run(agent) == []


def test_passers_by_over_the_openings_are_no_disposal(agent_for):
    scene = staged.stage([], 12.0, passers=[staged.passer(1.0), staged.passer(6.0, over=False)])
    assert scene.run(agent_for(scene)) == []


def test_two_drops_in_quick_succession_are_two_items(agent_for):
    # The second item comes to lie touching the first, 2.5 s later: one region of change, two landings.
    visit = staged.disposal(1, 1.0, [["battery"], ["cardboard"]], rests=[[(0.3, 0.2)], [(0.62, 0.25)]], distance=1.0)
    scene = staged.stage([visit], 16.0, fill=0.0)
    events = scene.run(agent_for(scene))
    assert len(events) == 2 and all(e.prediction is not None for e in events)


def test_a_small_first_item_under_a_large_second_one_is_an_item_of_its_own(agent_for):
    # A battery lands, a large piece of cardboard 2.5 s later partly on it: one region of change, of which
    # the battery makes a small share. An item's area settled at its moment: that is an item, however small.
    visit = staged.disposal(
        1, 1.0, [["battery"], ["cardboard"]], rests=[[(0.3, 0.5)], [(0.55, 0.5)]], sizes=[[0.2], [0.5]], distance=1.0
    )
    scene = staged.stage([visit], 11.0, fill=0.0, size=(1280, 720))
    events = scene.run(agent_for(scene))
    assert len(events) == 2 and all(e.bin_id == "other-2" and e.prediction is not None for e in events)


def test_a_reach_whose_item_came_to_light_only_with_the_next_one_is_an_unseen_item(agent_for):
    # A battery, then a piece of cardboard laid on it 3 s later: the person's arm and body keep the battery
    # covered until the cardboard lies on it, so the footage shows one region with one landing. The hand
    # went into the opening twice: the reach that brought no item of its own is an item unseen, timed at it.
    visit = staged.disposal(1, 1.0, [["battery"], ["cardboard"]], rests=[[(0.5, 0.5)], [(0.55, 0.5)]])
    scene = staged.stage([visit], 14.0, fill=0.0)
    agent = agent_for(scene)
    agent.event_ids = lambda bin_id, started_at: uuid.uuid5(uuid.NAMESPACE_URL, f"{bin_id}/{started_at.isoformat()}")
    events = scene.run(agent)
    assert len(events) == 2
    seen, unseen = sorted(events, key=lambda e: Flag.ITEM_UNSEEN in e.flags)
    assert seen.prediction is not None and Flag.ITEM_UNSEEN not in seen.flags
    assert unseen.prediction is None and Flag.ITEM_UNSEEN in unseen.flags
    first = visit.reaches[0]
    started, ended = scene.seconds(unseen)
    assert started <= first.release / staged.FPS <= ended < visit.reaches[1].release / staged.FPS
    # Its own times, but the disposal's id: the collector sees both as items of one disposal.
    assert unseen.event_id == uuid.uuid5(seen.event_id, "item 1")


def test_two_items_let_go_at_once_are_two_items(agent_for):
    visit = staged.disposal(0, 1.0, [["fruit_peel", "plastic_bottle"]], rests=[[(0.15, 0.4), (0.85, 0.6)]])
    scene = staged.stage([visit], 12.0)
    assert len(scene.run(agent_for(scene))) == 2


def test_the_items_of_one_disposal_from_a_file_are_events_of_their_own(classifier, tmp_path):
    # From a video file, ids derive from the disposal (``eventid``): each item needs one of its own,
    # the same again when the file is read again, or the outbox keeps only the first.
    visit = staged.disposal(0, 1.0, [["fruit_peel", "plastic_bottle"]], rests=[[(0.15, 0.4), (0.85, 0.6)]])
    scene = staged.stage([visit], 12.0)
    ids = FileEventIds(uuid.uuid5(uuid.NAMESPACE_URL, "staged"), OFFLINE_START, staged.FPS)
    runs = []
    for _ in range(2):
        agent = Agent(scene.site, classifier, outbox=Outbox(Layout(tmp_path / "store")))
        agent.event_ids = ids
        runs.append([e.event_id for e in scene.run(agent)])
        assert agent.outbox is not None and agent.outbox.depth() == 2
    assert len(set(runs[0])) == 2 and runs[0] == runs[1]


def test_an_emptied_bin_is_no_disposal_and_its_fill_level_drops(agent_for):
    scene = staged.stage([staged.emptying(1, 1.0)], 12.0, fill=0.7)
    agent = agent_for(scene)
    events = scene.run(agent)
    assert [(e.kind, e.bin_id) for e in events] == [(EventKind.EMPTYING, "other-2")]  # a ledger row, no disposal
    contents = agent.bins[1].contents
    assert [c.kind for c in contents.changes] == ["emptied"]
    change = contents.changes[0]
    assert change.coverage_before is not None and change.coverage_after < change.coverage_before - 0.2
    assert agent.fill_levels()["other-2"] == change.coverage_after
    assert events[0].fill_level == change.coverage_before


def test_a_bin_emptied_again_while_still_bare_is_an_emptying_and_no_disposal(agent_for):
    # A worker on a round empties a bin that nobody has used since its last emptying: nothing in it changes
    # but the fresh bag's folds, a faint change (before: an item_unseen event, or the folds as items).
    scene = staged.stage([staged.emptying(1, 1.0), staged.emptying(1, 10.0)], 19.0, fill=0.7, size=(1280, 720))
    agent = agent_for(scene)
    events = scene.run(agent)
    assert [(e.kind, e.bin_id) for e in events] == [(EventKind.EMPTYING, "other-2")] * 2
    assert scene.seconds(events[1])[0] >= 10.0
    assert [c.kind for c in agent.bins[1].contents.changes] == ["emptied", "emptied"]


def test_a_small_first_item_in_a_freshly_emptied_bin_is_a_disposal_not_another_emptying(agent_for):
    # The other side of the rule above: a fruit peel raises the bare bin's coverage by less than BARE_MARGIN
    # (0.18 to 0.23 here), so only the faint change tells an emptying again from an item; this one is an item.
    visits = [staged.emptying(1, 1.0), staged.disposal(1, 10.0, [["fruit_peel"]])]
    scene = staged.stage(visits, 19.0, fill=0.7, size=(1280, 720))
    events = scene.run(agent_for(scene))
    assert [(e.kind, e.bin_id) for e in events] == [(EventKind.EMPTYING, "other-2"), (EventKind.DISPOSAL, "other-2")]


def test_a_nearly_empty_bin_emptied_is_an_emptying_and_no_disposal(agent_for):
    # Two items in a bare bag, then the bag lifted out: only where they lay changes, each place the size
    # of an item; it looks like the bare bag now, so something was taken away there, not added.
    visits = [
        staged.disposal(1, 1.0, [["cardboard", "plastic_bottle"]], rests=[[(0.25, 0.4), (0.75, 0.6)]]),
        staged.emptying(1, 9.0),
    ]
    scene = staged.stage(visits, 17.0, fill=0.0, conditions="daylight")
    agent = agent_for(scene)
    events = scene.run(agent)
    disposals = [e for e in events if e.kind is EventKind.DISPOSAL]
    assert len(disposals) == 2 and all(scene.seconds(e)[1] < 9.0 for e in disposals)
    emptying = [e for e in events if e.kind is EventKind.EMPTYING]
    assert [e.bin_id for e in emptying] == ["other-2"] and scene.seconds(emptying[0])[0] >= 9.0
    change = agent.bins[1].contents.changes[-1]
    assert change.kind == "emptied" and emptying[0].fill_level == change.coverage_before
    assert change.coverage_before is not None and change.coverage_after < change.coverage_before


def test_a_plain_item_laid_over_a_pile_in_the_evening_is_still_an_item(agent_for):
    # A plain-coloured textile over a textured pile: where it lies the texture is gone, as where something
    # was taken out, but the place does not have the bag's colour. Judged by smoothness alone, both
    # disposals were taken for things taken out and became emptyings.
    visits = [
        staged.disposal(1, 1.0, [["flat:120,130,150"]], rests=[[(0.3, 0.3)]]),
        staged.disposal(1, 9.0, [["flat:120,130,150"]], rests=[[(0.5, 0.5)]]),
    ]
    scene = staged.stage(visits, 17.0, fill=0.6, conditions="evening", size=(1280, 720))
    events = scene.run(agent_for(scene))
    assert [(e.kind, e.bin_id) for e in events] == [(EventKind.DISPOSAL, "other-2")] * 2
    assert all(e.prediction is not None for e in events)


def test_exposure_jumps_are_no_disposals_and_hide_none(agent_for):
    jumps = [
        ExposureJump(staged.at(2.0), 2, 1.35),
        ExposureJump(staged.at(6.5), 1, 0.7),
        ExposureJump(staged.at(13.0), 3, 1.2),
    ]
    visit = staged.disposal(2, 10.0, [["cardboard"]])
    scene = staged.stage([visit], 20.0, exposure=jumps)
    events = scene.run(agent_for(scene))
    assert len(events) == 1 and events[0].bin_id == "recyclable-3"


def test_in_evening_light_items_are_found(agent_for):
    visits = [staged.disposal(0, 1.0, [["fruit_peel"]]), staged.disposal(2, 8.0, [["plastic_bottle"]])]
    scene = staged.stage(visits, 16.0, conditions="evening")
    events = scene.run(agent_for(scene))  # no overflow either: the fill level follows the noise
    assert [e.bin_id for e in events] == ["kitchen-1", "recyclable-3"]
    assert all(e.prediction is not None for e in events)


def test_in_evening_light_heads_passing_over_the_openings_leave_no_item(agent_for):
    # Brightened five times, the H.264 redraw (CRF 28, 4:2:0) of the lit contents where the heads passed
    # exceeds the 8-level floor; it stands out of the opening's quiet change in neither brightness nor colour.
    passers = [staged.passer(1.0), staged.passer(5.0), staged.passer(9.0, 2.5)]
    scene = staged.stage([], 14.0, passers=passers, conditions="evening", coded=True, seed=3)
    assert [e for e in scene.run(agent_for(scene)) if e.kind is EventKind.DISPOSAL] == []


def test_in_evening_light_a_coded_stream_gives_its_disposals_and_no_others(agent_for):
    # The person walks past the kitchen bin to the recyclable one: no item left where their head passed.
    visits = [staged.disposal(0, 1.0, [["fruit_peel"]]), staged.disposal(2, 8.0, [["plastic_bottle"]])]
    scene = staged.stage(visits, 16.0, conditions="evening", coded=True, seed=3)
    events = [e for e in scene.run(agent_for(scene)) if e.kind is EventKind.DISPOSAL]
    assert [e.bin_id for e in events] == ["kitchen-1", "recyclable-3"]
    assert all(e.prediction is not None for e in events)


def test_in_a_darker_evening_what_the_coders_floor_hides_is_an_item_only_as_large_as_a_faint_change(agent_for):
    # A quarter of daylight: the coder's floor (8 raw levels) lies far above change_pixel_delta, and isolation
    # looks below it for dim items too. The person walking past the kitchen bin to the other one leaves a
    # redraw there of a few dozen pixels that stands out as much as the quiet bag does; judged as any region
    # of an item's size, it was an item. Below the floor a change must be as large as a faint one.
    conditions = replace(named("evening"), light=0.25)
    scene = staged.stage([staged.disposal(1, 1.0, [["packaging"]])], 9.0, conditions=conditions, coded=True, seed=1)
    events = [e for e in scene.run(agent_for(scene)) if e.kind is EventKind.DISPOSAL]
    assert [e.bin_id for e in events] == ["other-2"] and events[0].prediction is not None


def test_an_item_in_a_see_through_bag_is_found(agent_for):
    scene = staged.stage([staged.disposal(2, 1.0, [["plastic_bottle"]], bagged=True)], 10.0)
    events = scene.run(agent_for(scene))
    assert len(events) == 1 and events[0].prediction is not None


def test_a_disposal_whose_item_cannot_be_isolated_is_sent_for_review(agent_for):
    # An item a little lighter than the bag, deep in it: the change is there, too faint to cut out.
    scene = staged.stage([staged.disposal(0, 1.0, [["flat:85,88,92"]])], 10.0, fill=0.0)
    events = scene.run(agent_for(scene))
    assert len(events) == 1
    assert events[0].prediction is None and Flag.ITEM_UNSEEN in events[0].flags


def test_a_hand_that_drops_nothing_is_no_disposal(agent_for):
    visit = staged.disposal(0, 1.0, [[]])
    scene = staged.stage([visit], 10.0)
    assert scene.run(agent_for(scene)) == []


def test_fill_levels_rise_as_items_go_in(agent_for):
    visits = [
        staged.disposal(1, 1.0, [["cardboard"]], rests=[[(0.25, 0.3)]]),
        staged.disposal(1, 9.0, [["plastic_bottle"]], rests=[[(0.75, 0.6)]]),
    ]
    scene = staged.stage(visits, 16.0, fill=0.0)
    agent = agent_for(scene)
    assert len(scene.run(agent)) == 2
    levels = [c.coverage_after for c in agent.bins[1].contents.changes]
    assert len(levels) == 2 and levels[0] < levels[1]
    assert agent.fill_levels()["other-2"] == levels[1]


def test_a_queue_of_residents_is_one_disposal_each(agent_for):
    # Each walks in as the one before walks off (3.1 s apart): the second to the same bin, the third next door.
    # The two at the same bin keep the opening busy from one to the other: one segment, two landings.
    queue = [
        staged.disposal(0, 1.0, [["plastic_bottle"]], rests=[[(0.2, 0.7)]]),
        staged.disposal(0, 4.1, [["cardboard"]], rests=[[(0.8, 0.25)]]),
        staged.disposal(1, 7.2, [["battery"]]),
    ]
    assert queue[1].start < queue[0].end and queue[2].start < queue[1].end
    scene = staged.stage(queue, 16.0)
    events = scene.run(agent_for(scene))
    assert sorted((e.bin_id, e.prediction is not None) for e in events) == [
        ("kitchen-1", True),
        ("kitchen-1", True),
        ("other-2", True),
    ]


def test_the_next_resident_of_a_queue_is_a_second_item_where_bodies_hid_half_of_its_spot(agent_for):
    # The next resident reaches into the same bin as the one before walks off. Between the two landings
    # their bodies hide part of the spot where the second item comes to lie touching the first; the rest
    # of the spot lies bare in plain view. Drawn at the camera's size, where a body hides half an opening.
    queue = [
        staged.disposal(0, 1.0, [["plastic_bottle"]], rests=[[(0.7, 0.2)]]),
        staged.disposal(0, 4.1, [["cardboard"]], rests=[[(0.5, 0.2)]]),
    ]
    assert queue[1].start < queue[0].end
    scene = staged.stage(queue, 11.0, size=(1280, 720))
    events = scene.run(agent_for(scene))
    assert len(events) == 2 and all(e.bin_id == "kitchen-1" and e.prediction is not None for e in events)


def test_the_crops_come_from_the_landing_and_from_the_settled_view(agent_for, monkeypatch):
    seen: list[list[np.ndarray]] = []

    def recording(classifier, crops):
        seen.append([c.copy() for c in crops])
        return consensus.classify(classifier, crops)

    monkeypatch.setattr(agent_module, "classify", recording)
    scene = staged.stage([staged.disposal(2, 1.0, [["plastic_bottle"]], hesitate_s=1.0)], 10.0, conditions="daylight")
    assert len(scene.run(agent_for(scene))) == 1
    [crops] = seen
    settled, landed, context, mirrored = crops[0], crops[1], crops[2], crops[3]
    assert len(crops) == 5 and np.array_equal(mirrored, settled[:, ::-1])
    # The same item at two moments: alike, but not the same pixels (light, noise, the person nearby).
    assert settled.shape == landed.shape
    difference = np.abs(settled.astype(int) - landed.astype(int)).mean()
    assert 0.5 < difference < 25
    # With context: a wider box, nothing painted grey around the item.
    assert context.shape != settled.shape and (np.abs(context.astype(int) - 128).max(axis=2) > 3).mean() > 0.9
