"""Ground zones in staged situations, drawn by the simulator and run through the agent: litter
left beside a bin and taken away, people standing on the ground, light that changes over litter."""

from __future__ import annotations

from dataclasses import replace

import cv2
import pytest

from binwatch.edge.agent import Agent
from binwatch.edge.outbox import Outbox
from binwatch.edge.simulator.timeline import ExposureJump
from binwatch.edge.storage import Layout
from binwatch.events.schema import EventKind, EvidenceKind
from tests.edge import staged


def _kinds(events):
    return [e.kind for e in events]


@pytest.mark.parametrize("kind", ["bag", "box"])
def test_litter_left_beside_a_bin_is_littering_until_it_is_taken_away(classifier, kind):
    item = staged.litter(0, 3.6, kind=kind)
    scene = staged.stage([staged.ground("littering", item, 1.0), staged.ground("clearing", item, 24.0)], 32.0)
    agent = Agent(scene.site, classifier)
    events = scene.run(agent)
    assert _kinds(events) == [EventKind.LITTERING, EventKind.LITTER_CLEARED]
    found, cleared = events
    assert found.zone_id == cleared.zone_id == "ground-left" and cleared.resolves == found.event_id
    began, sure = scene.seconds(found)
    stay = scene.site.litter.stay_s
    # There since it was put down (or since the person bending over the spot covered it) …
    assert 1.0 <= began <= 3.6 + 0.5
    # … and sure once it had kept still for stay_s after they walked off (they leave at 6.2 s).
    assert 6.2 + stay - 1.0 <= sure <= 6.2 + stay + 2.0
    picked_up = scene.timeline.visits[1].reaches[0].release / staged.FPS
    gone = scene.timeline.visits[1].end / staged.FPS
    clearing_time, confirmed = scene.seconds(cleared)
    assert picked_up <= clearing_time <= gone and confirmed - clearing_time == pytest.approx(scene.site.litter.clear_s)
    assert agent.counts["littering"] == agent.counts["litter_cleared"] == 1


def test_somebody_standing_on_the_ground_is_no_litter(classifier):
    # Somebody stands beside the row, in the ground zone, for 16 s (twice litter.stay_s), swaying a little.
    person = replace(staged.bystander(0, 1.0, 16.0, distance=0.2), offset=-1.3, sway=0.3)
    scene = staged.stage([person], 24.0, passers=[staged.passer(19.5, over=False)])
    assert scene.run(Agent(scene.site, classifier)) == []


def test_litter_stays_litter_through_exposure_jumps_and_passers_by(classifier):
    item = staged.litter(2, 3.6, kind="box", side=0.95, depth=0.3)
    jumps = [ExposureJump(staged.at(14.0), 2, 1.35), ExposureJump(staged.at(20.0), 2, 0.75)]
    passers = [staged.passer(22.0, over=False)]
    scene = staged.stage([staged.ground("littering", item, 1.0)], 30.0, exposure=jumps, passers=passers)
    events = scene.run(Agent(scene.site, classifier))
    assert _kinds(events) == [EventKind.LITTERING] and events[0].zone_id == "ground-right"


def test_a_sites_without_ground_zones_watches_no_ground(classifier):
    item = staged.litter(0, 3.6)
    scene = staged.stage([staged.ground("littering", item, 1.0)], 20.0)
    site = scene.site.model_copy(update={"zones": []})
    agent = Agent(site, classifier)
    assert scene.run(agent) == [] and agent.ground == []


def test_with_an_outbox_littering_carries_snapshot_crop_and_clip_and_clearing_its_proof(classifier, tmp_path):
    item = staged.litter(0, 3.6)
    scene = staged.stage([staged.ground("littering", item, 1.0), staged.ground("clearing", item, 20.0)], 28.0)
    site = scene.site.model_copy(
        update={
            "storage": scene.site.storage.model_copy(update={"dir": tmp_path}),
            "clips": scene.site.clips.model_copy(update={"pre_s": 1.0, "post_s": 1.0}),
        }
    )
    outbox = Outbox(Layout(site.storage.dir))
    agent = Agent(site, classifier, outbox=outbox)
    events = scene.run(agent)
    assert _kinds(events) == [EventKind.LITTERING, EventKind.LITTER_CLEARED] and outbox.depth() == 2
    found, cleared = events
    assert [e.kind for e in found.evidence] == [EvidenceKind.SNAPSHOT, EvidenceKind.CROP, EvidenceKind.CLIP]
    assert [e.kind for e in cleared.evidence] == [EvidenceKind.SNAPSHOT, EvidenceKind.CROP]
    clip = next(e for e in found.evidence if e.kind is EvidenceKind.CLIP)
    frames = cv2.VideoCapture(str(outbox.layout.evidence / clip.name)).get(cv2.CAP_PROP_FRAME_COUNT)
    began, sure = scene.seconds(found)
    # From before it was put down to after the agent was sure of it.
    assert frames / staged.FPS >= sure - began + 1.0
    crop = cv2.imread(str(outbox.layout.evidence / next(e.name for e in found.evidence if e.kind is EvidenceKind.CROP)))
    assert crop is not None and min(crop.shape[:2]) >= 8
    assert "ground" in agent.timing.stage_ms()
