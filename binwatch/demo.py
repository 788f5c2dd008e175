"""``binwatch demo``: the whole system on this machine, from nothing but the install.

A collector on loopback with SQLite in a temporary folder; a site, a device and a reviewer;
the shipped release model in the collector's registry; a scene video made from the shipped
sample images; the edge agent with that model watching it, delivering to the collector and
sending heartbeats; a summary of what arrived, and where to look at it. The collector and the
box's heartbeats stay up until Ctrl-C (``--exit`` ends the demo after the summary instead).
"""

from __future__ import annotations

import argparse
import json
import secrets
import signal
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from binwatch.edge.config import SiteConfig
    from binwatch.edge.heartbeat import HeartbeatSender
    from binwatch.edge.timing import Timing
    from binwatch.events.schema import CameraState

SAMPLES = Path(__file__).resolve().parent.parent / "edge" / "simulator" / "samples"
DEMO_SITE, DEMO_DEVICE = "demo-site", "demo-box"
HEARTBEAT_S = 15.0  # the demo box's beat: well inside the collector's offline threshold (300 s by default)


def register(sub: argparse._SubParsersAction) -> None:
    demo = sub.add_parser("demo", help="run the whole system end to end on this machine (the main job)")
    demo.add_argument("--disposals", type=int, default=16, help="disposals in the generated scene")
    demo.add_argument("--bins", type=int, default=4, choices=(1, 2, 3, 4))
    demo.add_argument("--seed", type=int, default=1)
    demo.add_argument("--port", type=int, default=0, help="collector port on 127.0.0.1 (0: any free port)")
    demo.add_argument("--dir", type=Path, help="working folder (default: a new temporary folder)")
    demo.add_argument(
        "--exit",
        action="store_true",
        help="stop the collector after the summary (default: keep it up for the review pages until Ctrl-C)",
    )
    demo.add_argument("--json", type=Path, help="also write the summary as JSON here")
    demo.set_defaults(func=run_demo)


def provision(app, bins: dict[str, str]) -> dict[str, str]:
    """A responsible entity, the site with its bins, the device and two people."""
    from binwatch.collector.provisioning import create_device, create_entity, create_site, create_user

    credentials = {"reviewer": secrets.token_urlsafe(9), "admin": secrets.token_urlsafe(9)}
    with app.state.db.write() as session:
        entity = create_entity(session, name="Demo Property Services Co.", type="property_company")
        create_site(
            session,
            site_id=DEMO_SITE,
            name="Demo drop-off point",
            address="1 Demo Road, Zhumadian",
            entity_id=entity.id,
            bins=bins,
        )
        _, token = create_device(session, device_id=DEMO_DEVICE, site_id=DEMO_SITE, description="demo edge box")
        for role, password in credentials.items():
            create_user(session, username=role, password=password, role=role)
    return {"device_token": token, **credentials}


def register_model(app, model: Path) -> str:
    """The box's model in the collector's registry, current, with what its export checked; its version."""
    from binwatch.collector.registry import register_file
    from binwatch.inference.classifier import Classifier

    version = Classifier(model, threads=1).version
    metrics: dict = {"file": model.name}
    export = model.with_name(f"binwatch-{version}-export.json")  # written beside the files by `binwatch export`
    if export.is_file():
        checks = json.loads(export.read_text())
        metrics.update({k: v for k, v in checks.items() if k.startswith(("int8_vs_", "fp32_vs_"))})
    register_file(app.state.db, app.state.store, model, version=version, metrics=metrics, make_current_now=True)
    return version


def heartbeats(config: SiteConfig, version: str, timing: Timing, camera: Callable[[], CameraState]) -> HeartbeatSender:
    """The box's heartbeats: its model, frame rate, stage latency, outbox depth and camera state."""
    from binwatch.edge.client import CollectorClient
    from binwatch.edge.heartbeat import HeartbeatSender
    from binwatch.edge.outbox import Outbox
    from binwatch.edge.storage import Layout
    from binwatch.events.schema import Heartbeat

    started = time.monotonic()

    def outbox_depth() -> int:
        try:
            outbox = Outbox(Layout(config.storage.dir), readonly=True)
        except FileNotFoundError:
            return 0  # the agent has not opened it yet
        try:
            return outbox.depth()
        finally:
            outbox.close()

    def build() -> Heartbeat:
        return Heartbeat(
            device_id=config.device_id,
            site_id=config.site_id,
            sent_at=datetime.now(UTC),
            model_version=version,
            camera_state=camera(),
            fps=timing.fps(),
            stage_ms=timing.stage_ms(),
            outbox_depth=outbox_depth(),
            uptime_s=round(time.monotonic() - started, 1),
        )

    return HeartbeatSender(CollectorClient(config.collector), HEARTBEAT_S, build)


def delivered_count(app) -> int:
    from sqlalchemy import func, select

    from binwatch.collector.db.tables import Event

    with app.state.db.read() as session:
        return session.scalar(select(func.count()).select_from(Event))


def wait_for(app, expected: int, timeout_s: float = 30.0) -> int:
    deadline = time.monotonic() + timeout_s
    while (count := delivered_count(app)) < expected and time.monotonic() < deadline:
        time.sleep(0.2)
    return count


@contextmanager
def stop_on_signals() -> Iterator[threading.Event]:
    """An event set by Ctrl-C (SIGINT) or SIGTERM, so that the demo ends cleanly either way."""
    stop = threading.Event()
    previous = {s: signal.signal(s, lambda *_: stop.set()) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield stop
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


def run_demo(args) -> int:
    from binwatch.collector.app import create_app
    from binwatch.collector.server import listen, serve_in_thread
    from binwatch.collector.settings import load_settings
    from binwatch.edge import config as site_config
    from binwatch.edge.offline import run_offline
    from binwatch.edge.simulator.scenario import render_scenario
    from binwatch.edge.simulator.score import format_table, score
    from binwatch.edge.timing import Timing
    from binwatch.inference.classifier import default_model_path

    t0 = time.perf_counter()
    sock = listen("127.0.0.1", args.port)  # a port in use is one line, before anything is made
    work = args.dir or Path(tempfile.mkdtemp(prefix="binwatch-demo-"))
    work.mkdir(parents=True, exist_ok=True)
    app = create_app(load_settings(data_dir=work / "collector"))
    server = serve_in_thread(app, sock=sock)
    box_stop = threading.Event()
    box: HeartbeatSender | None = None
    try:
        print(f"collector: {server.url} (SQLite in {work / 'collector'})")
        scene = render_scenario(
            SAMPLES,
            work / "scene",
            disposals=args.disposals,
            bins=args.bins,
            seed=args.seed,
            split="all",
            collector_url=server.url,
            device_id=DEMO_DEVICE,
            site_id=DEMO_SITE,
        )
        truth = json.loads(Path(scene.truth).read_text())
        print(f"scene: {scene.video} ({scene.frames} frames, {len(truth['disposals'])} disposals)")
        config = site_config.load(scene.config)
        secrets_ = provision(app, {b.id: b.category for b in config.bins})
        config = config.model_copy(
            update={
                "collector": config.collector.model_copy(update={"token": secrets_["device_token"]}),
                "storage": config.storage.model_copy(update={"dir": work / "edge"}),
            }
        )
        site_config.dump(config, scene.config)
        model_version = register_model(app, config.model or default_model_path())
        print(f"model {model_version} registered with the collector and current")

        timing = Timing()
        camera: list[CameraState] = ["streaming"]  # the scene file plays; once it has ended, the camera stops
        box = heartbeats(config, model_version, timing, lambda: camera[0])
        threading.Thread(target=box.run, args=(box_stop,), name="heartbeat", daemon=True).start()
        t_agent = time.perf_counter()
        events = run_offline(
            config,
            Path(scene.video),
            deliver=True,
            start_time=datetime.fromisoformat(truth["start_time"]),
            timing=timing,
        )
        agent_s = time.perf_counter() - t_agent
        camera[0] = "stopped"
        box.wake()
        delivered = wait_for(app, len(events))
        report = score(events, truth)
        summary = {
            "disposals_in_scene": len(truth["disposals"]),
            "disposals_seen": len(events),
            "flags": dict(Counter(flag.value for e in events for flag in e.flags)),
            "events_delivered": delivered,
            "stage_ms": timing.mean_ms(),
            "agent_seconds": round(agent_s, 1),
            "video_seconds": round(scene.frames / config.camera.fps, 1),
            "score": {k: report[k] for k in ("disposals", "flags") if k in report},
            "model_version": model_version,
            "review_url": f"{server.url}/",
            "users": {"reviewer": secrets_["reviewer"], "admin": secrets_["admin"]},
            "elapsed_s": round(time.perf_counter() - t0, 1),
        }
        print_summary(summary, format_table(report))
        if args.json:  # whole or not at all: a script may be waiting for it to appear
            partial = args.json.with_name(args.json.name + ".partial")
            partial.write_text(json.dumps(summary, indent=2))
            partial.replace(args.json)
        if delivered < len(events):
            print(f"error: only {delivered} of {len(events)} events reached the collector")
            return 1
        if not args.exit:
            print(f"\nthe collector stays up at {server.url}/ and the box keeps sending heartbeats; Ctrl-C stops both")
            with stop_on_signals() as stop:
                while not stop.wait(1.0) and server.thread.is_alive():
                    pass
            print("stopped")
        return 0
    finally:
        box_stop.set()
        if box is not None:
            box.wake()
        server.stop()


def print_summary(summary: dict, score_table: str) -> None:
    print(f"\n== binwatch demo ({summary['elapsed_s']} s)")
    print(
        f"disposals in the scene {summary['disposals_in_scene']}, seen by the agent {summary['disposals_seen']}, "
        f"delivered to the collector {summary['events_delivered']}"
    )
    flags = ", ".join(f"{k} {v}" for k, v in sorted(summary["flags"].items())) or "none"
    print(f"flags: {flags}")
    print(f"agent: {summary['video_seconds']} s of video in {summary['agent_seconds']} s")
    print(
        "per-stage latency (mean ms per run): "
        + ", ".join(f"{stage} {v['mean_ms']:.2f}" for stage, v in summary["stage_ms"].items())
    )
    print("\nagainst the scene's ground truth:\n" + score_table)
    print(f"\nreview pages: {summary['review_url']}")
    for user, password in summary["users"].items():
        print(f"  {user:<9} password {password}")
