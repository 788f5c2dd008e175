"""The whole loop, small: collector up, a scene through the edge agent, supervisors'
corrections through the API, retraining, promotion to the registry, the edge taking it."""

import json
from datetime import datetime
from pathlib import Path

import httpx
import pytest

from binwatch.collector.app import create_app
from binwatch.collector.server import serve_in_thread
from binwatch.collector.settings import load_settings
from binwatch.demo import SAMPLES, provision, wait_for
from binwatch.edge import config as site_config
from binwatch.edge.client import CollectorClient
from binwatch.edge.offline import run_offline
from binwatch.edge.rollout import ModelUpdater
from binwatch.edge.simulator.scenario import render_scenario
from binwatch.inference.classifier import RELEASE_DIR
from binwatch.training.config import RetrainConfig
from binwatch.training.registry import register_model
from binwatch.training.retrain import retrain

pytestmark = pytest.mark.slow


def truth_item(event: dict, truth: dict) -> str:
    """The item truly dropped into the event's bin during the event (the scene's ground truth)."""
    start = datetime.fromisoformat(truth["start_time"])
    t0 = (datetime.fromisoformat(event["started_at"]) - start).total_seconds() - 2
    t1 = (datetime.fromisoformat(event["ended_at"]) - start).total_seconds() + 2
    candidates = [d for d in truth["disposals"] if d["bin_id"] == event["bin_id"] and t0 <= d["t"] <= t1]
    return candidates[0]["item"]


def test_reviews_retrain_promote_and_roll_out(tmp_path):
    app = create_app(load_settings(data_dir=tmp_path / "collector"))
    server = serve_in_thread(app)
    try:
        scene = render_scenario(
            SAMPLES,
            tmp_path / "scene",
            disposals=10,
            bins=4,
            seed=5,
            split="all",
            size=(640, 360),
            # The loop's mechanics, not the agent in hard scenes: steady light, seen from above.
            condition="steady",
            style="top",
            collector_url=server.url,
            device_id="demo-box",
            site_id="demo-site",
        )
        truth = json.loads(Path(scene.truth).read_text())
        config = site_config.load(scene.config)
        secrets = provision(app, {b.id: b.category for b in config.bins})
        config = config.model_copy(
            update={
                "collector": config.collector.model_copy(update={"token": secrets["device_token"]}),
                "storage": config.storage.model_copy(update={"dir": tmp_path / "edge"}),
            }
        )
        events = run_offline(
            config, Path(scene.video), deliver=True, start_time=datetime.fromisoformat(truth["start_time"])
        )
        assert len(events) >= 8 and wait_for(app, len(events)) == len(events)

        api = f"{server.url}/api/v1"
        login = httpx.post(f"{api}/auth/login", json={"username": "admin", "password": secrets["admin"]})
        admin = {"Authorization": f"Bearer {login.raise_for_status().json()['token']}"}
        listed = httpx.get(f"{api}/events", params={"limit": 200}, headers=admin).raise_for_status().json()
        stored = listed["events"]
        for event in stored:
            body = {"action": "correct", "item": truth_item(event, truth), "note": "scripted review"}
            httpx.post(f"{api}/events/{event['event_id']}/review", json=body, headers=admin).raise_for_status()

        release = max(RELEASE_DIR.glob("binwatch-*.pt"))
        report = retrain(
            RetrainConfig(
                reviews=server.url,
                token=admin["Authorization"].split()[1],
                base=str(SAMPLES),
                checkpoint=str(release),
                out=str(tmp_path / "retrain"),
                epochs=1,
                batch_size=8,
                lr=3e-4,
                review_weight=10.0,
                device="cpu",
                workers=0,
                version="loop-1",
                calibration_images=16,
                tolerance=0.05,
                min_item_agreement=0.5,
                min_category_agreement=0.5,
            )
        )
        assert report["training_images"]["reviewed"] > 0
        assert report["promoted"], report["reason"]
        registered = register_model(server.url, admin["Authorization"].split()[1], report)
        assert registered["version"] == "loop-1" and registered["current"]

        handed_over = []
        client = CollectorClient(config.collector)
        updater = ModelUpdater(client, tmp_path / "edge" / "models", events[0].model_version, handed_over.append)
        new = updater.check()
        assert new is not None and new.version == "loop-1" and handed_over == [new]
        assert updater.check() is None and len(handed_over) == 1
        client.close()
        rolled = config.model_copy(update={"model": new.path})
        assert {e.model_version for e in run_offline(rolled, Path(scene.video))} == {"loop-1"}
    finally:
        server.stop()
