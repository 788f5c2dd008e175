"""A video file read again gives its disposals the ids they had: nothing counted twice after a restart."""

from __future__ import annotations

import os
import shutil
from datetime import timedelta

from binwatch.edge.eventid import FileEventIds
from binwatch.edge.offline import OFFLINE_START, run_offline
from tests.edge import scene


def test_ids_follow_the_file_not_its_name_or_its_times(scene_video, tmp_path):
    ids = FileEventIds.of(scene_video, "box-1", OFFLINE_START, 15.0)
    copy = shutil.copy(scene_video, tmp_path / "renamed.mp4")
    os.utime(copy, (0, 0))
    assert FileEventIds.of(copy, "box-1", OFFLINE_START, 15.0) == ids  # a copy, touched: the same file
    at = OFFLINE_START + timedelta(seconds=4)
    assert ids("green-1", at) == ids("green-1", at + timedelta(milliseconds=20))  # the same frame at 15 fps
    assert ids("green-1", at) != ids("green-1", at + timedelta(seconds=1 / 15))
    assert ids("green-1", at) != ids("grey-1", at)
    assert ids("green-1", at) != FileEventIds.of(scene_video, "box-2", OFFLINE_START, 15.0)("green-1", at)
    later = FileEventIds.of(scene_video, "box-1", OFFLINE_START + timedelta(hours=9), 15.0)
    assert later("green-1", at + timedelta(hours=9)) != ids("green-1", at)  # dated otherwise: other events
    other = tmp_path / "other.mp4"
    other.write_bytes(scene_video.read_bytes()[:-1])
    assert FileEventIds.of(other, "box-1", OFFLINE_START, 15.0) != ids  # another file


def test_a_file_delivered_again_is_stored_once(scene_video, tmp_path, collector):
    first = run_offline(scene.site(tmp_path / "a", scene_video, url=collector.url), scene_video, deliver=True)
    assert len(first) == 8 and len(collector.events) == 8
    # Read again with the same outbox (a restart): every disposal is known there, nothing is sent again.
    again = run_offline(scene.site(tmp_path / "a", scene_video, url=collector.url), scene_video, deliver=True)
    assert again == first and set(collector.posts.values()) == {1}
    # Read again with the outbox lost: the same events, byte for byte, which the collector recognises.
    lost = run_offline(scene.site(tmp_path / "b", scene_video, url=collector.url), scene_video, deliver=True)
    assert lost == first and set(collector.posts.values()) == {2} and len(collector.events) == 8
