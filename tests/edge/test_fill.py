"""Fill levels as news: an overflow once per filling, an emptying with the level it had, both from
staged scenes drawn by the simulator and run through the agent."""

from __future__ import annotations

from binwatch.edge.agent import Agent
from binwatch.edge.fill import REARM_MARGIN, OverflowAlarm
from binwatch.events.schema import EventKind
from tests.edge import staged


def test_a_full_bin_overflows_once_and_its_emptying_carries_the_level_before(classifier):
    visits = [
        staged.disposal(0, 1.0, [["plastic_bottle"]], rests=[[(0.3, 0.4)]]),
        staged.emptying(1, 8.0),
        staged.disposal(0, 16.0, [["cardboard"]], rests=[[(0.7, 0.6)]]),
    ]
    scene = staged.stage(visits, 26.0, fill=0.95)
    site = scene.site.model_copy(update={"fill": scene.site.fill.model_copy(update={"overflow_level": 0.6})})
    agent = Agent(site, classifier)
    events = scene.run(agent)
    # The full bin overflows at the first disposal that shows it full, not again at the second.
    overflows = [e for e in events if e.kind is EventKind.OVERFLOW]
    assert [e.bin_id for e in overflows] == ["kitchen-1"] and overflows[0].fill_level >= 0.6
    assert scene.seconds(overflows[0])[0] < 8.0
    emptying = [e for e in events if e.kind is EventKind.EMPTYING]
    assert [e.bin_id for e in emptying] == ["other-2"] and emptying[0].fill_level >= 0.6
    started, ended = scene.seconds(emptying[0])
    assert started >= 8.0 and ended <= 8.0 + 7.0
    assert [e.kind for e in events].count(EventKind.DISPOSAL) == 2
    assert agent.fill_levels()["other-2"] < 0.6 - REARM_MARGIN and not agent.bins[1].overflow.raised
    assert agent.bins[0].overflow.raised


def test_the_overflow_alarm_is_raised_once_per_filling():
    alarm = OverflowAlarm(0.8)
    levels = [None, 0.5, 0.79, 0.81, 0.85, 0.78, 0.82, 0.6, 0.9, 0.95]
    assert [alarm.reached(level) for level in levels] == [False] * 3 + [True] + [False] * 4 + [True, False]
    alarm.emptied()
    assert alarm.reached(0.95)
