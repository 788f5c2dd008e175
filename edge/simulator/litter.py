"""Litter as the oblique camera sees it: a tied bin bag or a cardboard box, drawn in the world
(metres, through the stage's pinhole camera) so that it is foreshortened and sized like the bins.

A bag is an ellipsoid with a lighter top and a knot; a box a cuboid whose faces are lit by how
they face upwards. Both stand on a point (their bottom centre), on the ground or hanging from a
hand, and cast a soft contact shadow when they lie on the ground.
"""

from __future__ import annotations

from typing import Protocol

import cv2
import numpy as np

from binwatch.edge.simulator.timeline import Litter

CONTACT_SHADOW = 0.55  # what the shadow right under litter leaves of the light


class Projection(Protocol):
    @property
    def position(self) -> np.ndarray: ...

    def project(self, points: np.ndarray) -> np.ndarray: ...

    def depth(self, points: np.ndarray) -> np.ndarray: ...


def draw(
    canvas: np.ndarray, camera: Projection, litter: Litter, base: np.ndarray, length: float, on_ground: bool
) -> None:
    """``litter`` standing on ``base`` (its bottom centre, world metres), ``length`` metres long."""
    if on_ground:
        _contact_shadow(canvas, camera, litter, base, length)
    if litter.kind == "bag":
        _bag(canvas, camera, litter, base, length)
    else:
        _box(canvas, camera, litter, base, length)


def extent(camera: Projection, base: np.ndarray, length: float) -> tuple[int, int, int, int]:
    """The pixels (x0, y0, x1, y1) that ``draw`` may touch, with a margin."""
    r = length * 0.75
    corners = np.array([base + (dx, dy, dz) for dx in (-r, r) for dy in (0, length) for dz in (-r, r)])
    (x0, y0), (x1, y1) = camera.project(corners).min(axis=0), camera.project(corners).max(axis=0)
    return int(x0) - 4, int(y0) - 4, int(np.ceil(x1)) + 4, int(np.ceil(y1)) + 4


def _axes(litter: Litter) -> tuple[np.ndarray, np.ndarray]:
    a = np.radians(litter.angle)
    return np.array([np.cos(a), 0.0, np.sin(a)]), np.array([-np.sin(a), 0.0, np.cos(a)])


def fill_hull(canvas: np.ndarray, camera: Projection, points: np.ndarray, colour: np.ndarray) -> None:
    """The convex hull of world ``points`` filled with ``colour``."""
    hull = cv2.convexHull(np.round(camera.project(points)).astype(np.int32))
    cv2.fillConvexPoly(canvas, hull, np.clip(colour, 0, 255).tolist(), cv2.LINE_AA)


def _contact_shadow(canvas: np.ndarray, camera: Projection, litter: Litter, base: np.ndarray, length: float) -> None:
    along, across = _axes(litter)
    t = np.linspace(0, 2 * np.pi, 32)[:, None]
    ring = base + 0.62 * length * (np.cos(t) * along + 0.7 * np.sin(t) * across)
    mask = np.zeros(canvas.shape[:2], np.uint8)
    cv2.fillConvexPoly(mask, cv2.convexHull(np.round(camera.project(ring)).astype(np.int32)), 255, cv2.LINE_AA)
    shade = 1 - (1 - CONTACT_SHADOW) * cv2.GaussianBlur(mask, (0, 0), 3).astype(np.float32) / 255
    canvas[:] = (canvas * shade[:, :, None]).astype(np.uint8)


def _bag(canvas: np.ndarray, camera: Projection, litter: Litter, base: np.ndarray, length: float) -> None:
    along, across = _axes(litter)
    a, b, c = length / 2, length * 0.38, length * 0.42
    u, v = np.meshgrid(np.linspace(0, 2 * np.pi, 24), np.linspace(0, np.pi, 12))
    shell = (
        base
        + np.array([0.0, c, 0.0])
        + (a * np.cos(u) * np.sin(v))[..., None] * along
        + (b * np.sin(u) * np.sin(v))[..., None] * across
        + (c * np.cos(v))[..., None] * np.array([0.0, 1.0, 0.0])
    )
    colour = np.array(litter.colour, np.float32)
    fill_hull(canvas, camera, shell.reshape(-1, 3), colour * 0.8)
    fill_hull(canvas, camera, shell[:4].reshape(-1, 3), colour * 1.05 + 12)  # the lit top
    knot = base + np.array([0.0, 2 * c, 0.0])
    fill_hull(
        canvas, camera, knot + np.array([[dx, dy, 0.0] for dx in (-0.03, 0.03) for dy in (0, 0.06)]), colour * 1.15
    )


def _box(canvas: np.ndarray, camera: Projection, litter: Litter, base: np.ndarray, length: float) -> None:
    along, across = _axes(litter)
    half = np.array([length / 2, length * 0.35])
    height = length * 0.55
    up = np.array([0.0, 1.0, 0.0])
    corners = [base + sx * half[0] * along + sz * half[1] * across for sx, sz in ((-1, -1), (1, -1), (1, 1), (-1, 1))]
    bottom, top = np.array(corners), np.array(corners) + height * up
    colour = np.array(litter.colour, np.float32)
    centre = base + height / 2 * up
    faces = [np.vstack([bottom[i], bottom[(i + 1) % 4], top[(i + 1) % 4], top[i]]) for i in range(4)] + [top]
    for i, points in enumerate(faces):
        middle = points.mean(axis=0)
        outward = middle - centre
        if outward @ (camera.position - middle) > 0:  # faces the camera: a convex box needs no sorting
            fill_hull(canvas, camera, points, colour * (1.1 if i == 4 else 0.7 + 0.1 * (i % 2)))
    tape = top[0] + (top[1] - top[0]) / 2, top[3] + (top[2] - top[3]) / 2
    ends = np.round(camera.project(np.array(tape))).astype(np.int32)
    cv2.line(canvas, tuple(ends[0]), tuple(ends[1]), np.clip(colour * 0.85 + 30, 0, 255).tolist(), 2, cv2.LINE_AA)
