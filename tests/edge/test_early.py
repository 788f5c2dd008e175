"""The early verdict for the voice (``edge/early.py``) on staged scenes drawn by the simulator, through the
real model and a real player command, timed on the scene's clock: a wrong-bin item is announced as it lands,
once, even while the resident is still over another part of the opening; a correct one is not announced; a
hand held still over the item keeps it from being judged; a bystander over the opening is never announced."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from binwatch.edge.agent import Agent
from binwatch.edge.offline import OFFLINE_START
from binwatch.edge.simulator import timeline as plan
from binwatch.edge.timing import Timing
from binwatch.events.schema import Flag
from tests.edge import staged
from tests.edge.test_announce import announcer, played

KITCHEN, OTHER, RECYCLABLE = 0, 1, 2  # the staged scene's bins


def landed(scene: staged.Staged) -> float:
    """When the (first) item lay in the bin, in seconds of the scene."""
    return scene.timeline.visits[0].reaches[0].drops[0].land / staged.FPS


def run(scene: staged.Staged, agent: Agent) -> list[tuple[float, int]]:
    """The frames through ``agent``; per frame, its time and how often the early verdict had classified by then."""
    runs = []
    for i, frame in enumerate(scene.frames):
        agent.process(frame, OFFLINE_START + timedelta(seconds=i / staged.FPS))
        runs.append((i / staged.FPS, agent.timing.mean_ms().get("early_classify", {}).get("runs", 0)))
    agent.close()
    return runs


def watched(agent: Agent, frame, index: int) -> list[float]:
    """``agent`` takes its first frame; from then on, per frame, how much of opening ``index`` something
    reaching over the rim covered (the agent's own observation, recorded as it is made)."""
    agent.process(frame, OFFLINE_START)
    watch, covered = agent.bins[index].watch, [0.0]
    update = watch.update

    def recorded(small, seconds):
        seen = update(small, seconds)
        covered.append(seen.reaching_in)
        return seen

    watch.update = recorded  # type: ignore[method-assign]
    return covered


def leaning(bin_index: int, items: list[list[str]]) -> staged.Staged:
    """A resident who lets go of an item over the side of the opening they stand at, where it falls to the
    other side, and draws the arm back slowly (2.3 s instead of 0.8) while the head and shoulders stay over
    their side: the item lies in plain view, apart from them, for a second and more before the opening is
    clear. (The staged resident stands to the left of the left bin, to the right of the others.)"""
    near, far = (0.2, 0.8) if bin_index == KITCHEN else (0.8, 0.2)
    visit = staged.disposal(bin_index, 1.0, items, rests=[[(far, 0.3)]], distance=1.0)
    stay = staged.at(1.5)
    reach = replace(visit.reaches[0], end=visit.reaches[0].end + stay, hand=(near, 0.5))
    return staged.stage([replace(visit, reaches=(reach,), leave=visit.leave + stay, end=visit.end + stay)], 10.0)


@pytest.fixture(scope="module")
def wrong_bin():
    return staged.stage([staged.disposal(RECYCLABLE, 1.0, [["fruit_peel"]], distance=1.0)], 10.0)


def test_a_wrong_bin_disposal_is_announced_as_it_lands_and_once(classifier, wrong_bin, tmp_path):
    voice = announcer(tmp_path, repeat_after_s=0, min_gap_s=0)  # no rate limit hides a second announcement
    agent = Agent(wrong_bin.site, classifier, announcer=voice, timing=Timing())
    events = wrong_bin.run(agent)
    voice.close()
    assert len(events) == 1 and Flag.MIXED_DISPOSAL in events[0].flags  # the final verdict, the evidence, agrees
    assert [s.announcement.flag for s in voice.spoken] == [Flag.MIXED_DISPOSAL]
    spoken = voice.spoken[0].announcement
    after = (spoken.at - OFFLINE_START).total_seconds() - landed(wrong_bin)
    assert spoken.early and 0 < after <= 1.0, after
    assert (spoken.at - events[0].ended_at).total_seconds() < 0  # said before the disposal was even over
    assert [line.split()[1:] for line in played(tmp_path)] == [["mixed_disposal", "zh"], ["mixed_disposal", "en"]]
    early = agent.bins[RECYCLABLE].early
    assert early is not None and early.counts == {"classified": 1, "flagged": 1}  # one look, not one per frame


def test_without_the_early_verdict_the_same_disposal_waits_for_its_end(classifier, wrong_bin, tmp_path):
    site = wrong_bin.site.model_copy(update={"announce": wrong_bin.site.announce.model_copy(update={"early": False})})
    voice = announcer(tmp_path, repeat_after_s=0, min_gap_s=0)
    agent = Agent(site, classifier, announcer=voice)
    events = wrong_bin.run(agent)
    voice.close()
    assert all(b.early is None for b in agent.bins)
    [spoken] = [s.announcement for s in voice.spoken]
    assert not spoken.early and spoken.at > events[0].ended_at
    assert (spoken.at - OFFLINE_START).total_seconds() - landed(wrong_bin) > 1.0


def test_a_correct_disposal_is_judged_early_and_not_announced(classifier, tmp_path):
    scene = staged.stage([staged.disposal(KITCHEN, 1.0, [["fruit_peel"]])], 10.0)
    voice = announcer(tmp_path, repeat_after_s=0, min_gap_s=0)
    agent = Agent(scene.site, classifier, announcer=voice)
    events = scene.run(agent)
    voice.close()
    assert len(events) == 1 and events[0].flags == []
    early = agent.bins[KITCHEN].early
    assert early is not None and early.counts == {"classified": 1, "flagged": 0}
    assert voice.spoken == [] and played(tmp_path) == []


def test_a_hand_held_still_over_the_item_keeps_it_from_being_judged(classifier, tmp_path):
    # The hand lets go 0.3 s after it arrives over the opening, then stays there, still, for 2 s more, held
    # where the item comes to lie as the camera sees it (lower than where it was let go: the bin is deep).
    visit = staged.disposal(RECYCLABLE, 1.0, [["fruit_peel"]], hesitate_s=2.5, distance=1.0)
    reach = replace(visit.reaches[0], hand=(0.3, 0.9))
    let_go = reach.arrive + staged.at(0.3)
    drops = tuple(replace(d, release=let_go, land=let_go + staged.at(plan.FALL_S)) for d in reach.drops)
    scene = staged.stage([replace(visit, reaches=(replace(reach, drops=drops),))], 12.0)
    voice = announcer(tmp_path, repeat_after_s=0, min_gap_s=0)
    agent = Agent(scene.site, classifier, announcer=voice, timing=Timing())
    runs = run(scene, agent)
    voice.close()
    hand_leaves = reach.release / staged.FPS
    assert landed(scene) + 1.5 < hand_leaves  # the item lay still under the hand for a good while
    assert all(count == 0 for t, count in runs if t <= hand_leaves)  # not judged while the hand was there
    [spoken] = [s.announcement for s in voice.spoken]  # said once, after the hand had gone
    assert (spoken.at - OFFLINE_START).total_seconds() > hand_leaves


def test_after_a_gap_in_the_frames_what_kept_still_is_seen_anew(classifier, wrong_bin, tmp_path):
    # Where the early verdict judged the item, drop the frame before it and the next ones (the camera
    # dropped for 0.6 s): what lay still before the gap says nothing about the time in between.
    (tmp_path / "first").mkdir()
    first = announcer(tmp_path / "first")
    agent = Agent(wrong_bin.site, classifier, announcer=first, timing=Timing())
    judged = next(i for i, (_, count) in enumerate(run(wrong_bin, agent)) if count)
    first.close()
    gap = wrong_bin.frames[: judged - 1]
    resumed = judged - 1 + staged.at(0.6)
    voice = announcer(tmp_path, repeat_after_s=0, min_gap_s=0)
    agent = Agent(wrong_bin.site, classifier, announcer=voice, timing=Timing())
    for i, frame in enumerate(gap):
        agent.process(frame, OFFLINE_START + timedelta(seconds=i / staged.FPS))
    agent.after_gap()
    counts = []
    for i in range(resumed, len(wrong_bin.frames)):
        agent.process(wrong_bin.frames[i], OFFLINE_START + timedelta(seconds=i / staged.FPS))
        counts.append(agent.timing.mean_ms().get("early_classify", {}).get("runs", 0))
    agent.close()
    voice.close()
    assert counts[: staged.at(0.2)] == [0] * staged.at(0.2)  # still again for 0.2 s after the gap first
    assert counts[-1] == 1 and voice.spoken and voice.spoken[0].announcement.early


@pytest.mark.parametrize(("bin_index", "said"), [(RECYCLABLE, [Flag.MIXED_DISPOSAL]), (KITCHEN, [])])
def test_an_item_is_judged_while_the_resident_is_still_over_another_part_of_the_opening(
    classifier, tmp_path, bin_index, said
):
    scene = leaning(bin_index, [["fruit_peel"]])
    voice = announcer(tmp_path, repeat_after_s=0, min_gap_s=0)
    agent = Agent(scene.site, classifier, announcer=voice, timing=Timing())
    covered = watched(agent, scene.frames[0], bin_index)
    judged, events = [], []
    for i in range(1, len(scene.frames)):
        events += agent.process(scene.frames[i], OFFLINE_START + timedelta(seconds=i / staged.FPS))
        judged.append((i, agent.timing.mean_ms().get("early_classify", {}).get("runs", 0)))
    events += agent.close()
    voice.close()
    first = next(i for i, count in judged if count)
    assert 0 < first / staged.FPS - landed(scene) <= 1.0
    assert covered[first] > 0  # the resident still reached over the opening as the item was judged
    early = agent.bins[bin_index].early
    assert early is not None and early.counts == {"classified": 1, "flagged": len(said)}
    assert [s.announcement.flag for s in voice.spoken] == said  # once, or not at all for a correct one
    if said:
        spoken = voice.spoken[0].announcement
        assert spoken.early and 0 < (spoken.at - OFFLINE_START).total_seconds() - landed(scene) <= 1.0
    assert len(events) == 1 and [f for f in events[0].flags if f in (Flag.MIXED_DISPOSAL,)] == said


@pytest.mark.parametrize(
    "bin_index, stand_s",
    [
        (RECYCLABLE, 4.0),
        # The head kept still over the opening so long that the background begins to take it in: what still
        # stands out of it is a sliver of the change from the view before, not a thing that landed.
        (OTHER, 16.0),
        # ... and once they go, what the background took in of them is no ghost holding the opening busy
        # (it was an ``item_unseen`` event).
        (RECYCLABLE, 16.0),
    ],
)
def test_a_bystander_over_the_opening_is_never_announced(classifier, tmp_path, bin_index, stand_s):
    scene = staged.stage([staged.bystander(bin_index, 1.0, stand_s)], stand_s + 5.0)
    voice = announcer(tmp_path, repeat_after_s=0, min_gap_s=0)
    agent = Agent(scene.site, classifier, announcer=voice, timing=Timing())
    covered, events = watched(agent, scene.frames[0], bin_index), []
    for i in range(1, len(scene.frames)):
        events += agent.process(scene.frames[i], OFFLINE_START + timedelta(seconds=i / staged.FPS))
    events += agent.close()
    voice.close()
    assert max(covered) > 0.05  # the bystander did lean over the opening
    assert events == [] and voice.spoken == [] and played(tmp_path) == []
    early = agent.bins[bin_index].early
    assert early is not None and early.counts == {"classified": 0, "flagged": 0}
