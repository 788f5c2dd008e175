"""Fixtures of the edge tests: the shipped model, a rendered scene, a stand-in collector."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.edge import scene
from tests.edge.collector_stub import StubCollector

# Eight drops into three bins and one hand that drops nothing, over 21 s: three mixed
# disposals, one of them a kitchen-bin contaminant.
DROPS = [
    scene.Drop(2.5, "blue-1", "plastic_bottle"),
    scene.Drop(4.0, "green-1", "fruit_peel"),
    scene.Drop(6.5, "grey-1", "battery"),
    scene.Drop(8.0, "green-1", "plastic_bag"),
    scene.Drop(10.5, "blue-1", "cardboard"),
    scene.Drop(12.0, "grey-1", "disposable_tableware"),
    scene.Drop(14.5, "green-1", "food_waste"),
    scene.Drop(16.0, "grey-1", "plastic_bottle"),
    scene.Drop(18.0, "blue-1", None),
]
DURATION_S = 21.0


@pytest.fixture(scope="session")
def classifier():
    from binwatch.inference.classifier import Classifier, default_model_path

    return Classifier(default_model_path(), threads=1)


@pytest.fixture(scope="session")
def scene_video(tmp_path_factory) -> Path:
    return scene.render(tmp_path_factory.mktemp("scene") / "scene.mp4", DROPS, DURATION_S)


@pytest.fixture
def collector():
    stub = StubCollector().up()
    yield stub
    stub.down()
