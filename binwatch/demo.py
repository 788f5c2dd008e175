"""``binwatch demo``: the whole system on this machine, from nothing but the install.

A collector on loopback with SQLite in a temporary folder; a site, a device and a reviewer;
a scene video made from the shipped sample images; the edge agent with the shipped release
model watching it and delivering to the collector; a summary of what arrived, and where to
look at it.
"""

from __future__ import annotations

import argparse
import json
import secrets
import tempfile
import time
from collections import Counter
from datetime import datetime
from pathlib import Path

SAMPLES = Path(__file__).resolve().parent.parent / "edge" / "simulator" / "samples"
DEMO_SITE, DEMO_DEVICE = "demo-site", "demo-box"


def register(sub: argparse._SubParsersAction) -> None:
    demo = sub.add_parser("demo", help="run the whole system end to end on this machine (the main job)")
    demo.add_argument("--disposals", type=int, default=16, help="disposals in the generated scene")
    demo.add_argument("--bins", type=int, default=4, choices=(1, 2, 3, 4))
    demo.add_argument("--seed", type=int, default=1)
    demo.add_argument("--port", type=int, default=0, help="collector port on 127.0.0.1 (0: any free port)")
    demo.add_argument("--dir", type=Path, help="working folder (default: a new temporary folder)")
    demo.add_argument("--keep-running", action="store_true", help="leave the collector up until Ctrl-C")
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


def run_demo(args) -> int:
    from binwatch.collector.app import create_app
    from binwatch.collector.server import listen, serve_in_thread
    from binwatch.collector.settings import load_settings
    from binwatch.edge import config as site_config
    from binwatch.edge.offline import run_offline
    from binwatch.edge.simulator.scenario import render_scenario
    from binwatch.edge.simulator.score import format_table, score
    from binwatch.edge.timing import Timing

    t0 = time.perf_counter()
    sock = listen("127.0.0.1", args.port)  # a port in use is one line, before anything is made
    work = args.dir or Path(tempfile.mkdtemp(prefix="binwatch-demo-"))
    work.mkdir(parents=True, exist_ok=True)
    app = create_app(load_settings(data_dir=work / "collector"))
    server = serve_in_thread(app, sock=sock)
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

        timing = Timing()
        t_agent = time.perf_counter()
        events = run_offline(
            config,
            Path(scene.video),
            deliver=True,
            start_time=datetime.fromisoformat(truth["start_time"]),
            timing=timing,
        )
        agent_s = time.perf_counter() - t_agent
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
            "review_url": f"{server.url}/",
            "users": {"reviewer": secrets_["reviewer"], "admin": secrets_["admin"]},
            "elapsed_s": round(time.perf_counter() - t0, 1),
        }
        print_summary(summary, format_table(report))
        if args.json:
            args.json.write_text(json.dumps(summary, indent=2))
        if delivered < len(events):
            print(f"error: only {delivered} of {len(events)} events reached the collector")
            return 1
        if args.keep_running:
            print("\ncollector keeps running; Ctrl-C to stop")
            while server.thread.is_alive():
                server.thread.join(timeout=1)
        return 0
    finally:
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
