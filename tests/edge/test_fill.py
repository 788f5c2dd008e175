"""Fill levels as news: an overflow once per filling, an emptying with the level it had, both from
staged scenes drawn by the simulator and run through the agent."""

from __future__ import annotations

from binwatch.edge.agent import Agent
from binwatch.edge.fill import RIM_SHARE, OverflowAlarm
from binwatch.events.schema import EventKind, Flag
from tests.edge import staged


def test_a_bin_overflows_once_per_filling_and_again_after_an_emptying(classifier):
    # Half full; a sack tipped in fills it to 0.8 (no overflow), a second one past the rim (overflow),
    # an item on the heap (none again), the emptying (its level before), two sacks (full again: overflow).
    # A heap over the rim holds the disposal open until the opening's background takes it in (about
    # 18 s), so the visits after a heap wait for that.
    visits = [
        staged.sack(0, 1.0, 0.3),
        staged.sack(0, 8.0, 0.3),
        staged.disposal(0, 32.0, [["plastic_bottle"]], rests=[[(0.3, 0.4)]]),
        staged.emptying(0, 39.0),
        staged.sack(0, 46.0, 0.5),
        staged.sack(0, 53.0, 0.55),
    ]
    scene = staged.stage(visits, 85.0, fill=0.5)
    full = [round(frame / staged.FPS, 1) for frame, index in scene.timeline.overflows()]
    assert len(full) == 2 and 8.0 < full[0] < 15.0 and full[1] > 53.0  # the truth: full twice
    agent = Agent(scene.site, classifier)  # the default overflow level
    events = scene.run(agent)
    overflows = [e for e in events if e.kind is EventKind.OVERFLOW]
    assert [e.bin_id for e in overflows] == ["kitchen-1"] * 2
    raised = [scene.seconds(e)[0] for e in overflows]
    assert full[0] <= raised[0] < 32.0 and full[1] <= raised[1]
    assert all(e.fill_level >= scene.site.fill.overflow_level for e in overflows)
    emptying = [e for e in events if e.kind is EventKind.EMPTYING]
    assert len(emptying) == 1 and emptying[0].fill_level >= scene.site.fill.overflow_level
    assert full[0] < scene.seconds(emptying[0])[0] < full[1]
    # Nothing else overflowed, and the half-full bins read well below it.
    assert all(level < 0.7 for bin_id, level in agent.fill_levels().items() if bin_id != "kitchen-1")


def test_a_heap_above_the_rim_overflows_a_bin_full_to_just_below_it_does_not(classifier):
    # Kitchen: two sacks fill it to 0.97 of its height, its bag hidden, the rim in view: no overflow.
    # Other: one sack takes it past the rim, the waste heaped over it: an overflow.
    visits = [staged.sack(0, 1.0, 0.2), staged.sack(0, 8.0, 0.17), staged.sack(1, 15.0, 0.45)]
    scene = staged.stage(visits, 50.0, fill=0.6, categories=("kitchen", "other"), size=(1280, 720))
    assert [index for _, index in scene.timeline.overflows()] == [1]  # the truth: only the heap is full
    agent = Agent(scene.site, classifier)
    events = scene.run(agent)
    kitchen, other = agent.bins
    assert kitchen.contents.fill_level() >= scene.site.fill.overflow_level  # the bag is hidden …
    assert kitchen.contents.rim_hidden < RIM_SHARE / 2  # … and the rim shows
    assert other.contents.rim_hidden >= RIM_SHARE
    overflows = [e for e in events if e.kind is EventKind.OVERFLOW]
    assert [e.bin_id for e in overflows] == ["other-2"]
    assert scene.seconds(overflows[0])[0] > 15.0


def test_the_overflow_alarm_is_raised_once_per_filling_with_the_rim_hidden():
    alarm = OverflowAlarm(0.8)
    levels = [None, 0.5, 0.79, 0.81, 0.85, 0.78, 0.82, 0.6, 0.9, 0.95]
    assert [alarm.reached(level, 1.0) for level in levels] == [False] * 3 + [True] + [False] * 4 + [True, False]
    alarm.emptied()
    assert not alarm.reached(0.95, RIM_SHARE / 2)  # the bag hidden, the rim in view: not yet full
    assert alarm.reached(0.95, RIM_SHARE)


def test_an_item_thrown_onto_a_still_heap_is_a_disposal_and_the_heap_an_overflow(classifier):
    # A sack heaps the bin above its rim; a few seconds later somebody lays a battery on top of the heap.
    # The still heap is the bin's contents, not a body holding the disposal open: the overflow is
    # raised before the next resident comes, and the battery, lying on the heap over the rim, is an item.
    visits = [staged.sack(0, 1.0, 0.5), staged.disposal(0, 12.0, [["battery"]], rests=[[(0.5, 0.5)]])]
    scene = staged.stage(visits, 24.0, fill=0.6)
    assert [index for _, index in scene.timeline.overflows()] == [0]
    events = scene.run(Agent(scene.site, classifier))
    overflows = [e for e in events if e.kind is EventKind.OVERFLOW]
    assert [e.bin_id for e in overflows] == ["kitchen-1"]
    assert scene.seconds(overflows[0])[0] < 12.0  # concluded when the heap kept still, not 20-30 s later
    disposals = [e for e in events if e.kind is EventKind.DISPOSAL and scene.seconds(e)[0] >= 12.0]
    assert len(disposals) == 1 and disposals[0].prediction is not None
    assert Flag.ITEM_UNSEEN not in disposals[0].flags
