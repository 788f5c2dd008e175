"""The agent on a rendered scene: one event per disposal, the right flags, evidence when flagged."""

from __future__ import annotations

from datetime import timedelta

import cv2
import pytest

from binwatch.edge.agent import Agent
from binwatch.edge.config import ConfigError
from binwatch.edge.offline import OFFLINE_START, run_offline
from binwatch.edge.outbox import Outbox
from binwatch.edge.storage import Layout
from binwatch.events.schema import EvidenceKind, Flag
from tests.edge import scene
from tests.edge.conftest import DROPS, DURATION_S


@pytest.fixture(scope="module")
def offline_events(scene_video, tmp_path_factory):
    config = scene.site(tmp_path_factory.mktemp("offline"), scene_video)
    return config, run_offline(config, scene_video)


def test_every_disposal_is_one_event_at_its_bin_and_time(offline_events):
    config, events = offline_events
    expected = scene.truth(DROPS, config)
    assert len(events) == len(expected) == 8  # the hand that dropped nothing is no disposal
    for event, truth in zip(sorted(events, key=lambda e: e.started_at), expected, strict=True):
        drop_at = OFFLINE_START + timedelta(seconds=truth["t"])
        assert event.bin_id == truth["bin_id"]
        assert drop_at - timedelta(seconds=1.2) <= event.started_at <= drop_at <= event.ended_at
        assert event.ended_at <= drop_at + timedelta(seconds=1)
        assert event.device_id == "box-1" and event.model_version and event.evidence == []


def test_flags_match_the_rules_for_what_was_dropped(offline_events):
    config, events = offline_events
    expected = scene.truth(DROPS, config)
    got = [[f.value for f in e.flags] for e in sorted(events, key=lambda e: e.started_at)]
    assert got == [t["flags"] for t in expected]
    assert sum(Flag.MIXED_DISPOSAL.value in f for f in got) == 3 and ["mixed_disposal", "kitchen_contamination"] in got
    predicted = [e.prediction.category for e in sorted(events, key=lambda e: e.started_at)]
    assert predicted == [t["category"] for t in expected]
    assert all(e.prediction.frames == config.thresholds.consensus_crops for e in events)


def test_in_a_grey_night_picture_a_suspected_violation_is_uncertain(tmp_path):
    """A camera in infrared night mode sends grey frames; the model, trained on colour, would accuse by them."""
    video = scene.render(tmp_path / "night.mp4", DROPS, DURATION_S, tint=(0, 2, 5))
    config = scene.site(tmp_path, video)
    events = sorted(run_offline(config, video), key=lambda e: e.started_at)
    expected = scene.truth(DROPS, config)
    assert [e.bin_id for e in events] == [t["bin_id"] for t in expected]
    got = [[f.value for f in e.flags] for e in events]
    assert all(f in ([], ["uncertain"]) for f in got), got  # no one accused
    violations = [f for f, t in zip(got, expected, strict=True) if t["flags"]]
    assert len(violations) == 3 and all(f == ["uncertain"] for f in violations), got  # each left to a supervisor


def test_outside_the_allowed_hours_every_disposal_is_flagged(scene_video, tmp_path):
    config = scene.site(tmp_path, scene_video, schedule={"allowed_hours": ["18:00-20:00"]})
    events = run_offline(config, scene_video)
    assert len(events) == 8 and all(Flag.OFF_HOURS in e.flags for e in events)
    evening = run_offline(config, scene_video, start_time=OFFLINE_START.replace(hour=18))
    assert not any(Flag.OFF_HOURS in e.flags for e in evening)


def test_with_an_outbox_flagged_events_carry_snapshot_crop_and_clip(scene_video, tmp_path, classifier):
    config = scene.site(tmp_path, scene_video, clips={"pre_s": 1.0, "post_s": 1.5})
    outbox = Outbox(Layout(config.storage.dir))
    agent = Agent(config, classifier, outbox=outbox)
    capture = cv2.VideoCapture(str(scene_video))
    events, index = [], 0
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        events += agent.process(frame, OFFLINE_START + timedelta(seconds=index / scene.FPS))
        index += 1
    events += agent.close()
    assert outbox.depth() == len(events) == 8
    for event in events:
        kinds = [e.kind for e in event.evidence]
        if event.flagged:
            assert kinds == [EvidenceKind.SNAPSHOT, EvidenceKind.CROP, EvidenceKind.CLIP]
            clip = next(e for e in event.evidence if e.kind is EvidenceKind.CLIP)
            frames = cv2.VideoCapture(str(outbox.layout.evidence / clip.name)).get(cv2.CAP_PROP_FRAME_COUNT)
            span = (event.ended_at - event.started_at).total_seconds() + 1.0 + 1.5
            assert abs(frames - span * scene.FPS) <= 2
        else:
            assert kinds == [EvidenceKind.CROP]
    stages = {"motion", "openings", "footage", "views", "buffer", "isolate", "classify", "evidence"}
    assert set(agent.timing.stage_ms()) == stages


def test_polygons_outside_the_frame_are_a_config_error(scene_video, tmp_path, classifier):
    config = scene.site(tmp_path, scene_video, scale=2)  # polygons for 1280x720, the video is 640x360
    agent = Agent(config, classifier)
    frame = cv2.VideoCapture(str(scene_video)).read()[1]
    with pytest.raises(ConfigError, match=r"bins.0.polygon: point .* outside the camera frame \(640x360\)"):
        agent.process(frame, OFFLINE_START)
