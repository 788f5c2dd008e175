"""``binwatch edge …``: run the agent, check a site configuration, read the outbox, evaluate.

Handlers import what they need when called, so ``binwatch --help`` stays fast and none of
this pulls in anything beyond the edge's own dependencies.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from datetime import UTC, datetime
from pathlib import Path


def register(sub) -> None:
    edge = sub.add_parser(
        "edge",
        help="the edge agent: watch the bins, flag, keep evidence, deliver",
        description="The edge agent of a drop-off point.",
    )
    commands = edge.add_subparsers(dest="edge_command", metavar="COMMAND", required=True)

    run = commands.add_parser("run", help="watch the camera and deliver events until stopped")
    run.add_argument("--config", required=True, type=Path, help="site.toml")
    run.add_argument(
        "--log-format",
        choices=("json", "text"),
        default="json",
        help="json: one object per line, for log shippers (default); text: for a terminal",
    )
    run.set_defaults(func=_run)

    check = commands.add_parser("check-config", help="validate site.toml and draw the bins on a camera frame")
    check.add_argument("--config", required=True, type=Path, help="site.toml")
    check.add_argument("--out", type=Path, help="PNG to write (default: <config>-check.png next to the config)")
    check.set_defaults(func=_check_config)

    status = commands.add_parser("status", help="print the outbox backlog")
    status.add_argument("--config", required=True, type=Path, help="site.toml")
    status.add_argument("--json", action="store_true", help="print the summary as JSON")
    status.set_defaults(func=_status)

    sounds = commands.add_parser("sounds", help="speak the announcements into sound files with espeak-ng")
    sounds.add_argument("--out", required=True, type=Path, help="folder for <flag>.<lang>.wav (announce.sounds)")
    sounds.add_argument("--speed", type=int, default=180, help="words per minute (default 180)")
    sounds.set_defaults(func=_sounds)

    evaluate = commands.add_parser(
        "eval",
        help="run the agent offline on scenes and score it against their truth",
        description="Score one scene (--video, --truth, --config) or several (--scene DIR, each holding scene.mp4, "
        "truth.json and site.toml); several scenes also get a table with one row per condition. What each "
        "figure and each field of the --json report means: edge/simulator/README.md, 'Scoring'.",
    )
    evaluate.add_argument("--video", type=Path)
    evaluate.add_argument("--truth", type=Path, help="the scenario's ground truth (JSON)")
    evaluate.add_argument("--config", type=Path, help="site.toml of the scenario")
    evaluate.add_argument("--scene", type=Path, action="append", default=[], help="a scene folder (repeatable)")
    evaluate.add_argument("--json", dest="json_out", type=Path, help="also write the report here")
    evaluate.set_defaults(func=_eval)


def _run(args: argparse.Namespace) -> int:
    from binwatch.edge import config, live, logs

    site = config.load(args.config)
    logging.getLogger("httpx").setLevel(logging.WARNING)
    if args.log_format == "text":
        return live.run(site)
    logs.use_json_logs()
    with logs.native_stderr_as_json():  # FFmpeg's and OpenCV's own lines become JSON entries too
        return live.run(site)


def _check_config(args: argparse.Namespace) -> int:
    import cv2
    import numpy as np

    from binwatch.edge import config, evidence
    from binwatch.edge.camera import CameraError, first_frame

    site = config.load(args.config)
    print(
        f"{args.config}: valid; device {site.device_id} at site {site.site_id}, {len(site.bins)} bins, "
        f"collector {site.collector.url}"
    )
    try:
        frame = first_frame(site.camera)
    except CameraError as exc:
        print(f"camera: {exc}", file=sys.stderr)
        return 1
    height, width = frame.shape[:2]
    print(f"camera {site.camera.source}: {width}x{height}")
    out = args.out or args.config.with_name(f"{args.config.stem}-check.png")
    if out.suffix.lower() != ".png" or not cv2.imwrite(str(out), evidence.draw_bins(frame, site.bins)):
        raise OSError(f"{out}: cannot write the PNG (the name must end in .png)")
    print(f"wrote {out}")
    config.check_polygons(site.bins, (width, height), site.zones)
    for i, b in enumerate(site.bins):
        area = cv2.contourArea(np.asarray(b.polygon, np.int32))
        print(
            f"  bins.{i} {b.id} ({b.category}): {len(b.polygon)} points, {100 * area / (width * height):.1f} % "
            "of the frame"
        )
    return 0


def _status(args: argparse.Namespace) -> int:
    from binwatch.edge import config
    from binwatch.edge.outbox import Outbox
    from binwatch.edge.storage import Layout

    site = config.load(args.config)
    outbox = Outbox(Layout(site.storage.dir), readonly=True)
    try:
        summary = outbox.summary()
    finally:
        outbox.close()
    summary["budget_bytes"] = int(site.storage.budget_mb * 2**20)
    print(json.dumps(summary, indent=2) if args.json else format_status(summary))
    return 0


def _when(timestamp: float | None) -> str:
    if timestamp is None:
        return "never"
    moment = datetime.fromtimestamp(timestamp, UTC)
    ago = (datetime.now(UTC) - moment).total_seconds()
    return f"{moment.isoformat(timespec='seconds')} ({_duration(ago)} ago)"


def _duration(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds / size:.1f} {unit}"
    return f"{seconds:.0f} s"


def format_status(summary: dict) -> str:
    states = summary["states"]
    lines = [
        f"outbox {summary['database']}",
        f"  backlog    {summary['backlog']} events not yet delivered",
        f"    pending  {states['pending']['events']} ({states['pending']['flagged']} flagged)  not yet accepted",
        f"    sent     {states['sent']['events']} ({states['sent']['flagged']} flagged)  accepted, evidence left",
        f"  delivered  {states['delivered']['events']} ({states['delivered']['flagged']} flagged), "
        f"last {_when(summary['last_delivered_at'])}",
        f"  parked     {states['parked']['events']}  refused by the collector for good",
        f"  oldest undelivered: {_when(summary['oldest_undelivered_at'])}; most tries: {summary['max_attempts']}",
        f"  evidence waiting: {summary['files_waiting']} files, {summary['bytes_waiting'] / 2**20:.1f} MB of a "
        f"{summary['budget_bytes'] / 2**20:.0f} MB budget; evicted {summary['files_evicted']}, "
        f"refused {summary['files_refused']}",
    ]
    if summary["last_error"]:
        lines.append(f"  last error: {summary['last_error']}")
    lines += [f"  PARKED {p['event_id']}: {p['error']}" for p in summary["parked"]]
    return "\n".join(lines)


def _sounds(args: argparse.Namespace) -> int:
    from binwatch.edge.announce import VoiceError, make_sounds

    try:
        made = make_sounds(args.out, speed_wpm=args.speed)
    except VoiceError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    for file in made:
        print(f"{file} ({file.stat().st_size / 1024:.0f} kB)")
    return 0


def _eval(args: argparse.Namespace) -> int:
    import cv2

    from binwatch.edge import config, offline

    try:
        from binwatch.edge.simulator import score, truth
    except ModuleNotFoundError as exc:
        raise FileNotFoundError(f"edge eval needs the scenario scorer ({exc.name} is missing)") from None
    single = (args.video, args.truth, args.config)
    if any(single) and not all(single):
        raise SystemExit("edge eval: --video, --truth and --config go together")
    scenes = [single] if all(single) else []
    scenes += [(d / "scene.mp4", d / "truth.json", d / "site.toml") for d in args.scene]
    if not scenes:
        raise SystemExit("edge eval: give --video, --truth and --config, or --scene DIR")
    # Every scene's files are read and checked before the first is run: a truth, config or video that is
    # missing or malformed is reported at once, by its path, not after minutes of another scene's video.
    for video, _, _ in scenes:
        if not video.is_file():
            raise FileNotFoundError(f"{video}: no such video file")
    loaded = [(video, truth.load(truth_path), config.load(site_path)) for video, truth_path, site_path in scenes]
    if args.json_out:
        args.json_out.open("a").close()  # a report that cannot be written is said now, not after the scoring
    for video, expected, _ in loaded:
        capture = cv2.VideoCapture(str(video))
        frames = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
        capture.release()
        if expected.frames and 0 < frames < expected.frames:
            print(
                f"warning: {video} has {frames} frames but its truth {expected.frames}: what happens after the "
                "video ends counts as missed",
                file=sys.stderr,
            )
    reports = []
    for video, expected, site in loaded:
        # The scene's frames are dated from the truth's start, so that off-hours flags line up with it.
        events = offline.run_offline(site, video, start_time=expected.start_time)
        report = score.score(events, expected)
        if len(scenes) > 1:
            print(f"== {video}")
        print(score.format_table(report))
        reports.append((str(video.parent), report))
    result: dict = reports[0][1]
    if len(scenes) > 1:
        merged = score.by_condition(reports)
        print("\nper condition:\n" + score.format_conditions(merged))
        result = {"scenes": dict(reports), "conditions": merged}
    if args.json_out:
        args.json_out.write_text(json.dumps(result, indent=2, default=str) + "\n", encoding="utf-8")
    return 0
