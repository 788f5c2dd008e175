"""How long after an item lands does the resident hear about it: the voice at the bin, on a simulated scene.

Runs the edge agent over a ``binwatch scenario`` video with an announcer whose player is a real command
(``true`` by default: spawning it is the cost a player's start-up adds) and the rate limits off, so that
every flagged verdict is announced. Each announcement is matched to the visit of its bin (the truth's
``t_start``..``t_end``: one person's disposal, of one or more items) that began last before it, and to the
item of that visit that landed last before it (the truth's ``t``). The time from landing to the player's
start is split in two:

* verdict: landing → the frame on which the agent handed the verdict over, early (``edge/early.py``, the
  item just landed) or final (the disposal concluded), in scene time (the box keeps up with its camera
  ~10× over, ``benchmarks/edge_pipeline.py``);
* voice: the verdict handed over → the player started (wall time, measured in this process).

Where the verdict's time goes is measured from the video itself, apart from the agent: per flagged visit,
the item's place is what differs in its opening between the quiet frames before the visit and those 3–4 s
after the landing (per-pixel medians: a passer-by does not count), and the item is *in view* from the first
frame after its landing on which 80 % of that place looks as it will once the visit is over (a head,
shoulders or an arm no longer hide it). No verdict from the item at rest can come before that.

It counts announcements early and final, visits announced more than once, announcements for visits whose
truth is clean (false announcements: a resident lectured for nothing), early announcements whose final
verdict is clean, and flagged visits never announced; and what the early verdict cost the frame loop.

    .venv/bin/python benchmarks/announce_latency.py --manifest ../shared/datasets/waste-v1 --disposals 20 --seed 11
    .venv/bin/python benchmarks/announce_latency.py --video scene.mp4 --truth truth.json --config site.toml
"""

from __future__ import annotations

import argparse
import json
import logging
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from binwatch.edge.announce import Announcer, CommandVoice, Spoken  # noqa: E402
from binwatch.edge.config import AnnounceConfig, SiteConfig, load  # noqa: E402
from binwatch.edge.offline import run_offline  # noqa: E402
from binwatch.edge.timing import Timing  # noqa: E402


@dataclass
class Visit:
    """One person's disposal at one bin in the truth: its items' landings, and whether any is flagged."""

    bin_id: str
    start: datetime
    end: datetime
    landings: list[datetime] = field(default_factory=list)
    flagged: bool = False
    spoken: list[Spoken] = field(default_factory=list)
    final_flagged: bool = False  # the agent's final verdict of an item of the visit carries an announced flag


def scene(args: argparse.Namespace, folder: Path) -> tuple[Path, Path, Path]:
    if args.video:
        return args.video, args.truth, args.config
    from binwatch.edge.simulator.scenario import render_scenario

    made = render_scenario(
        args.manifest,
        folder,
        disposals=args.disposals,
        seed=args.seed,
        split=args.split,
        condition=args.condition,
        style=args.style,
    )
    return made.video, made.truth, made.config


def visits(truth: dict, start: datetime) -> list[Visit]:
    out: dict[tuple, Visit] = {}
    for d in truth["disposals"]:
        landed = start + timedelta(seconds=d["t"])
        first, last = (d.get(k) for k in ("t_start", "t_end"))
        begin = start + timedelta(seconds=first) if first is not None else landed
        end = start + timedelta(seconds=last) if last is not None else landed
        visit = out.setdefault((d["bin_id"], begin, end), Visit(d["bin_id"], begin, end))
        visit.landings.append(landed)
        visit.flagged |= bool(d["flags"])
    return sorted(out.values(), key=lambda v: v.start)


def match(found: list[Visit], bin_id: str, at: datetime) -> Visit | None:
    """The visit of ``bin_id`` that began last before ``at``."""
    before = [v for v in found if v.bin_id == bin_id and v.start <= at]
    return before[-1] if before else None


VISIT_AFTER = timedelta(seconds=3.0)  # a visit's final verdict comes this long after its hand left, at most
VISIBLE_SHARE = 0.8  # of the item's place looking as it will after the visit: the item is in view
PLACE_DELTA = 30  # grey levels (the largest of B, G, R) that make a small pixel part of the item's place
SMALL_WIDTH = 320  # the frames are compared at this width, as the agent's motion detector sees them


def item_in_view(video: Path, config: SiteConfig, found: list[Visit], start: datetime, fps: float) -> dict[int, float]:
    """Per flagged visit (by index) with an item found in the video: landing → the last item first in view (s)."""
    import cv2
    import numpy as np

    wanted = {}  # visit → (bin mask, landing frame, the windows before and after, in frame numbers)
    capture = cv2.VideoCapture(str(video))
    width = int(capture.get(cv2.CAP_PROP_FRAME_WIDTH))
    height = int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT))
    scale = min(1.0, SMALL_WIDTH / width)
    size = (round(width * scale), round(height * scale))
    polygons = {b.id: b.polygon for b in config.bins}
    for i, v in enumerate(found):
        if not v.flagged or v.bin_id not in polygons:
            continue
        mask = np.zeros(size[::-1], np.uint8)
        cv2.fillPoly(mask, [np.round(np.asarray(polygons[v.bin_id], np.float64) * scale).astype(np.int32)], 1)
        later = [w.start for w in found if w.start > v.start]
        land = (max(v.landings) - start).total_seconds()
        after_end = min([land + 4.0] + [(t - start).total_seconds() - 0.2 for t in later])
        begin = (v.start - start).total_seconds()
        wanted[i] = (
            mask > 0,
            round(land * fps),
            (round((begin - 1.0) * fps), round((begin - 0.2) * fps)),
            (round(min(land + 3.0, after_end - 0.4) * fps), round(after_end * fps)),
        )
    frames: dict[int, np.ndarray] = {}
    needed = set()
    for _, land, (b0, b1), (_, a1) in wanted.values():
        needed.update(range(max(0, b0), b1 + 1))
        needed.update(range(land, a1 + 1))
    n = 0
    while needed and n <= max(needed):
        ok, frame = capture.read()
        if not ok:
            break
        if n in needed:
            frames[n] = cv2.resize(frame, size, interpolation=cv2.INTER_AREA).astype(np.int16)
        n += 1
    capture.release()
    out = {}
    for i, (inside, land, (b0, b1), (a0, a1)) in wanted.items():
        before = [frames[k] for k in range(b0, b1 + 1) if k in frames]
        after = [frames[k] for k in range(a0, a1 + 1) if k in frames]
        if not before or not after:
            continue
        still = np.median(np.stack(after), axis=0)
        place = inside & (np.abs(np.median(np.stack(before), axis=0) - still).max(axis=2) > PLACE_DELTA)
        place = cv2.morphologyEx(place.astype(np.uint8), cv2.MORPH_OPEN, np.ones((2, 2), np.uint8)) > 0
        if place.sum() < 4:
            continue
        for k in range(land, a1 + 1):
            if k in frames and (np.abs(frames[k] - still).max(axis=2)[place] <= PLACE_DELTA).mean() >= VISIBLE_SHARE:
                out[i] = (k - land) / fps
                break
    return out


def figures(values: list[float]) -> str:
    if not values:
        return "—"
    q = statistics.quantiles(values, n=10, method="inclusive") if len(values) > 1 else values * 9
    return f"median {statistics.median(values):.2f} s, p90 {q[8]:.2f} s, max {max(values):.2f} s"


def configured(config: SiteConfig, args: argparse.Namespace) -> SiteConfig:
    thresholds, announce = {}, {}
    if args.settle is not None:
        thresholds["settle_s"] = args.settle
    if args.early_margin is not None:
        announce["early_margin"] = args.early_margin
    if args.no_early:
        announce["early"] = False
    return config.model_copy(
        update={
            "thresholds": config.thresholds.model_copy(update=thresholds),
            "announce": config.announce.model_copy(update=announce),
        }
    )


class EarlyLog(logging.Handler):
    """How long each item flagged early had been in view (uncovered) when it was judged, by (bin, time)."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.in_view: dict[tuple[str, str], float] = {}

    def emit(self, record: logging.LogRecord) -> None:
        if hasattr(record, "in_view_s"):
            self.in_view[(record.bin_id, record.at)] = record.in_view_s  # type: ignore[attr-defined]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--manifest", default=str(ROOT.parent / "shared/datasets/waste-v1"))
    parser.add_argument("--disposals", type=int, default=20)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--split", default="val")
    parser.add_argument("--condition", default="daylight", help="the scene's named condition (default daylight)")
    parser.add_argument("--style", default="oblique", choices=["oblique", "top"], help="the scene's camera")
    parser.add_argument("--video", type=Path)
    parser.add_argument("--truth", type=Path)
    parser.add_argument("--config", type=Path)
    parser.add_argument("--player", nargs="+", default=["true"], help="the player command (default: true)")
    parser.add_argument("--settle", type=float, help="override thresholds.settle_s (a sensitivity check)")
    parser.add_argument("--early-margin", type=float, help="override announce.early_margin")
    parser.add_argument("--no-early", action="store_true", help="announce at the final verdict only, as before")
    parser.add_argument("--json", dest="json_out", type=Path)
    args = parser.parse_args()
    if args.video and not (args.truth and args.config):
        parser.error("--video needs --truth and --config")

    with tempfile.TemporaryDirectory(prefix="announce-latency-") as tmp:
        video, truth_file, config_file = scene(args, Path(tmp))
        config = configured(load(config_file), args)
        truth = json.loads(truth_file.read_text(encoding="utf-8"))
        start = datetime.fromisoformat(truth["start_time"])
        settings = AnnounceConfig(enabled=True, command=args.player, repeat_after_s=0, min_gap_s=0, max_delay_s=60)
        announcer = Announcer(settings, CommandVoice(settings), config.schedule.timezone)
        timing, early_log = Timing(time.process_time), EarlyLog()
        logger = logging.getLogger("binwatch.edge.early")
        logger.addHandler(early_log)
        logger.setLevel(logging.INFO)
        events = run_offline(config, video, start_time=start, announcer=announcer, timing=timing)
        announcer.close()
        found = visits(truth, start)
        seen = item_in_view(video, config, found, start, float(truth["fps"]))

    announced = set(settings.flags)
    for event in events:  # the agent's final verdicts, on the visits whose items landed during them
        for visit in found:
            if visit.bin_id == event.bin_id and any(event.started_at <= t <= event.ended_at for t in visit.landings):
                visit.final_flagged |= any(f in announced for f in event.flags)
    for spoken in announcer.spoken:
        if (visit := match(found, spoken.announcement.bin_id, spoken.announcement.at)) is not None:
            visit.spoken.append(spoken)
    verdict, voice, total, hidden, rows, waited = [], [], [], [], [], []
    blind = 0  # early verdicts before the item was in view: of a part of it, or of something else
    for i, visit in enumerate(found):
        for spoken in visit.spoken:
            a = spoken.announcement
            landed = max(t for t in visit.landings if t <= a.at) if min(visit.landings) <= a.at else visit.start
            in_view = early_log.in_view.get((a.bin_id, a.at.isoformat())) if a.early else None
            rows.append(
                {
                    "bin_id": a.bin_id,
                    "landed_s": round((landed - start).total_seconds(), 3),
                    "at_s": round((a.at - start).total_seconds(), 3),
                    "early": a.early,
                    "in_view_s": in_view,
                    "item_in_view_after_s": seen.get(i),
                    "flag": a.flag.value,
                    "truth_flagged": visit.flagged,
                    "final_flagged": visit.final_flagged,
                }
            )
            if not visit.flagged:
                continue
            verdict.append((a.at - landed).total_seconds())
            voice.append(spoken.started - a.handed_at)
            total.append(verdict[-1] + voice[-1])
            if in_view is not None:  # landing → the item first lay uncovered: the resident's body hid it till then
                hidden.append(verdict[-1] - in_view)
            if i in seen:  # the item in view (the video) → the player started: what the agent's rules cost
                waited.append(total[-1] - seen[i])
                blind += a.early and verdict[-1] < seen[i]
    spoken_all = [s for v in found for s in v.spoken]
    standing = [  # bystanders at a bin, in the truth: (bin, from, to)
        (b["bin_id"], start + timedelta(seconds=b["t_start"]), start + timedelta(seconds=b["t_end"]))
        for b in truth.get("bystanders", [])
    ]
    by_bystander = [
        s.announcement
        for s in announcer.spoken
        if any(b == s.announcement.bin_id and t0 <= s.announcement.at <= t1 for b, t0, t1 in standing)
        and not any(
            v.bin_id == s.announcement.bin_id and v.start <= s.announcement.at <= v.end + VISIT_AFTER for v in found
        )
    ]
    early = [s for s in spoken_all if s.announcement.early]
    flagged = [v for v in found if v.flagged]
    cost = timing.mean_ms()
    report = {
        "visits": len(found),
        "items": sum(len(v.landings) for v in found),
        "flagged_in_truth": len(flagged),
        "announced": len(announcer.spoken),
        "early": len(early),
        "final": len(spoken_all) - len(early),
        "flagged_announced": sum(bool(v.spoken) for v in flagged),
        "flagged_missed": sum(not v.spoken for v in flagged),
        "said_twice": sum(len(v.spoken) > 1 for v in found),
        "false": sum(len(v.spoken) for v in found if not v.flagged),
        "false_early": sum(s.announcement.early for v in found if not v.flagged for s in v.spoken),
        "during_bystander": len(by_bystander),
        "early_final_clean": sum(s.announcement.early and not v.final_flagged for v in found for s in v.spoken),
        "within_1s": sum(t <= 1.0 for t in total),
        "verdict_s": verdict,
        "voice_s": voice,
        "total_s": total,
        "hidden_s": hidden,
        "item_in_view_s": [seen[i] for i in sorted(seen)],
        "out_of_view_over_1s": sum(t > 1.0 for t in seen.values()),
        "in_view_to_announcement_s": waited,
        "early_before_in_view": blind,
        "announcements": rows,
        "early_frame_ms": cost.get("early", {}).get("mean_ms"),
        "early_classify": cost.get("early_classify"),
        "final_classify": cost.get("classify"),
        "settle_s": config.thresholds.settle_s,
        "early_margin": config.announce.early_margin if config.announce.early else None,
        "player": args.player,
        "seed": None if args.video else args.seed,
        "condition": None if args.video else args.condition,
        "style": None if args.video else args.style,
    }
    print(
        f"scene: {report['visits']} visits ({report['items']} items), {len(flagged)} flagged in the truth; "
        f"settle_s {config.thresholds.settle_s}, early margin {report['early_margin']}"
    )
    print(
        f"announced {report['announced']}: {report['early']} early, {report['final']} at the final verdict; "
        f"{report['flagged_announced']} of {len(flagged)} flagged visits, {report['flagged_missed']} missed; "
        f"{report['said_twice']} visits said twice"
    )
    print(
        f"false announcements (truth clean): {report['false']} ({report['false_early']} early); "
        f"early whose final verdict is clean: {report['early_final_clean']}; "
        f"while a bystander stood at the bin, no disposal there: {report['during_bystander']}"
    )
    print(f"landing → verdict (scene time): {figures(verdict)}")
    print(f"  of which hidden (early ones):  {figures(hidden)} from landing until the item first lay uncovered")
    print(
        f"landing → item in view (video):  {figures(list(seen.values()))} for {len(seen)} flagged visits; "
        f"out of view over 1 s: {report['out_of_view_over_1s']} of {len(seen)}"
    )
    print(
        f"  item in view → announcement:   {figures(waited)}; early ones judged before the item was in view: "
        f"{blind} (a part of it, or something else)"
    )
    print(f"verdict → player started (wall): {figures(voice)}")
    print(f"landing → announcement:         {figures(total)}; within 1 s: {report['within_1s']} of {len(total)}")
    early_classify, final_classify = report["early_classify"], report["final_classify"]
    if early_classify:
        print(
            f"early verdict: {report['early_frame_ms']:.2f} ms per frame (CPU), {early_classify['runs']} "
            f"classifications at {early_classify['mean_ms']:.1f} ms each"
            + (f" (the final's: {final_classify['mean_ms']:.1f} ms each)" if final_classify else "")
        )
    if args.json_out:
        args.json_out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
