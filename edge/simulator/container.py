"""A collector's container as the oblique camera sees it: a 240-litre wheeled bin, open, drawn in
the world (metres, through the stage's pinhole camera) like the bins and the litter.

It stands on a point (its bottom centre): a body whose faces are lit by how they face the
camera, a dark open top inside a lighter rim, the lid hanging back, two wheels at the back, and
a soft contact shadow when it stands on the ground.
"""

from __future__ import annotations

import cv2
import numpy as np

from binwatch.edge.simulator.litter import Projection, fill_hull

WIDTH, DEPTH, HEIGHT = 0.58, 0.72, 1.0  # a 240 l wheelie bin, metres
RIM = 0.04
INSIDE = np.array((30, 30, 32), np.float32)  # BGR: the dark inside of an open container
SHADOW = 0.6  # what the shadow right under it leaves of the light


def corners(base: np.ndarray, height: float = 0.0) -> np.ndarray:
    """The footprint at ``height``: front-left, front-right, back-right, back-left (z away from the camera)."""
    x, z = float(base[0]), float(base[2])
    w, d = WIDTH / 2, DEPTH / 2
    return np.array([[x - w, height, z - d], [x + w, height, z - d], [x + w, height, z + d], [x - w, height, z + d]])


def extent(camera: Projection, base: np.ndarray) -> tuple[int, int, int, int]:
    """The pixels (x0, y0, x1, y1) that ``draw`` may touch, with a margin (the lid hangs behind)."""
    points = np.vstack([corners(base), corners(base, HEIGHT), _lid(base)])
    px = camera.project(points)
    (x0, y0), (x1, y1) = px.min(axis=0), px.max(axis=0)
    return int(x0) - 6, int(y0) - 6, int(np.ceil(x1)) + 6, int(np.ceil(y1)) + 6


def draw(
    canvas: np.ndarray, camera: Projection, base: np.ndarray, colour: tuple[int, int, int], on_ground: bool
) -> None:
    """The container standing on ``base`` (its bottom centre, world metres)."""
    body = np.array(colour, np.float32)
    bottom, top = corners(base), corners(base, HEIGHT)
    if on_ground:
        _shadow(canvas, camera, corners(base) + [[-0.05, 0, -0.05], [0.08, 0, -0.05], [0.08, 0, 0.1], [-0.05, 0, 0.1]])
    fill_hull(canvas, camera, _lid(base), body * 0.75)
    for side in (0, 1):  # the wheels at the back corners
        hub = bottom[3 - side] + [0.06 if side == 0 else -0.06, 0.1, -0.05]
        at, rim = camera.project(np.array([hub, hub + [0.1, 0, 0]]))
        r = max(2, round(float(np.linalg.norm(rim - at))))
        cv2.circle(canvas, (round(at[0]), round(at[1])), r, (25, 25, 25), -1, cv2.LINE_AA)
    centre = (bottom.mean(axis=0) + top.mean(axis=0)) / 2
    faces = [np.vstack([bottom[i], bottom[(i + 1) % 4], top[(i + 1) % 4], top[i]]) for i in range(4)]
    for i, points in enumerate(faces):
        middle = points.mean(axis=0)
        if (middle - centre) @ (camera.position - middle) > 0:  # faces the camera: a convex box needs no sorting
            fill_hull(canvas, camera, points, body * (0.85 if i == 0 else 0.65))
    fill_hull(canvas, camera, top, body * 1.1 + 15)  # the rim
    inner = top.mean(axis=0) + (top - top.mean(axis=0)) * [[1 - 2 * RIM / WIDTH, 1, 1 - 2 * RIM / DEPTH]]
    fill_hull(canvas, camera, inner, INSIDE)


def _lid(base: np.ndarray) -> np.ndarray:
    """The open lid, hanging down the back from the hinge."""
    back = corners(base, HEIGHT)[2:]
    return np.vstack([back, back[::-1] + [0, -0.55 * HEIGHT, 0.08]])


def _shadow(canvas: np.ndarray, camera: Projection, footprint: np.ndarray) -> None:
    mask = np.zeros(canvas.shape[:2], np.uint8)
    cv2.fillConvexPoly(mask, cv2.convexHull(np.round(camera.project(footprint)).astype(np.int32)), 255, cv2.LINE_AA)
    shade = 1 - (1 - SHADOW) * cv2.GaussianBlur(mask, (0, 0), 3).astype(np.float32) / 255
    canvas[:] = (canvas * shade[:, :, None]).astype(np.uint8)
