"""Item isolation: the item is what stays changed in the opening after the motion stops."""

from __future__ import annotations

import cv2
import numpy as np

from binwatch.edge.isolate import Box, Found, Opening, changed_region, item_crops
from tests.edge.scene import BAG, DATA

POLYGON = [(100, 50), (400, 50), (400, 300), (100, 300)]
SIZE = (640, 360)


def view(rng, opening, extra=None) -> np.ndarray:
    """The opening's region of a noisy frame with a bag in the polygon and ``extra`` drawn on it."""
    frame = np.full((SIZE[1], SIZE[0], 3), 120, np.uint8)
    cv2.fillPoly(frame, [np.asarray(POLYGON)], BAG)
    if extra:
        extra(frame)
    noisy = np.clip(frame + rng.normal(0, 2.5, frame.shape), 0, 255).astype(np.uint8)
    return opening.cut(noisy)


def paste_photo(frame, x, y, side=70):
    frame[y : y + side, x : x + side] = cv2.resize(cv2.imread(str(DATA / "battery.jpg")), (side, side))


def found_in_frame(before, after, opening) -> Box | None:
    found = changed_region(before, after, opening, pixel_delta=30, min_fraction=0.004)
    return found and found.box.shifted(opening.box.x, opening.box.y)


def close_to(box: Box, x, y, w, h, tolerance=3) -> bool:
    return all(abs(a - b) <= tolerance for a, b in zip((box.x, box.y, box.w, box.h), (x, y, w, h), strict=True))


def test_the_new_item_is_found_where_it_was_dropped():
    rng, opening = np.random.default_rng(0), Opening(POLYGON)
    box = found_in_frame(view(rng, opening), view(rng, opening, lambda f: paste_photo(f, 200, 120)), opening)
    assert close_to(box, 200, 120, 70, 70, tolerance=4)  # the photo's white border may blend with the bag


def test_noise_leaves_nothing_behind():
    rng, opening = np.random.default_rng(1), Opening(POLYGON)
    assert found_in_frame(view(rng, opening), view(rng, opening), opening) is None


def test_a_change_outside_the_polygon_is_not_the_bins():
    rng = np.random.default_rng(2)
    opening = Opening([(100, 50), (400, 50), (100, 300)])
    after = view(rng, opening, lambda f: paste_photo(f, 320, 220))  # in the rectangle, outside the triangle
    assert found_in_frame(view(rng, opening), after, opening) is None


def test_of_two_changes_the_larger_is_the_item_and_tiny_ones_do_not_count():
    rng, opening = np.random.default_rng(3), Opening(POLYGON)
    before = view(rng, opening)
    after = view(rng, opening, lambda f: (paste_photo(f, 120, 70, side=30), paste_photo(f, 250, 150, side=90)))
    assert close_to(found_in_frame(before, after, opening), 250, 150, 90, 90)
    speck = view(rng, opening, lambda f: paste_photo(f, 250, 150, side=8))
    assert found_in_frame(before, speck, opening) is None


def test_crops_are_spread_over_the_settled_views_and_show_only_the_item():
    rng, opening = np.random.default_rng(4), Opening(POLYGON)
    before = view(rng, opening, lambda f: paste_photo(f, 130, 80, side=60))  # an item already in the bin
    triangle = np.array([(250, 120), (330, 120), (250, 200)])
    after = view(
        rng,
        opening,
        lambda f: (
            paste_photo(f, 130, 80, side=60),
            cv2.fillPoly(f, [triangle], (0, 200, 255)),
            paste_photo(f, 120, 230, side=30),
        ),
    )
    found = changed_region(before, after, opening, 30, 0.004)
    crop = item_crops(found, [after], count=3, fill=128)[0]
    assert crop.shape[:2] == (found.box.h, found.box.w)
    assert tuple(crop[-3, -3]) == (128, 128, 128)  # beyond the triangle's hull: painted grey
    assert np.abs(crop[5, 5].astype(int) - (255, 200, 0)).max() < 12  # the item itself, in RGB

    regions = [np.full((250, 300, 3), i, np.uint8) for i in range(10)]
    box = Found(Box(100, 100, 50, 40), np.full((40, 50), 255, np.uint8))
    assert [int(c[0, 0, 0]) for c in item_crops(box, regions, count=4, fill=128)] == [0, 3, 6, 9]
    assert len(item_crops(box, regions[:2], count=5, fill=128)) == 2
