"""Scoring an edge agent's events against a scene's truth.

An event and a truth disposal match when they are at the same bin and the item's landing time
lies inside the event's window widened by a tolerance on each side; each event matches at most
one disposal and vice versa, the closest pairs first. Disposal counts give recall and precision;
each flag is then scored at event level: a true positive is a matched event that carries a flag
its disposal deserves, a false positive an event that carries a flag its disposal does not
deserve (or an unmatched event carrying any flag), a false negative a deserved flag that no
matched event carries (including every flag of a missed disposal). Only ``disposal`` events
take part in this; ``littering`` and ``litter_cleared`` events are scored against the truth's
litter (``score_litter``).

A ``littering`` event and a truth litter match when they are in the same zone and the event was
concluded while the litter lay there: its ``ended_at`` (when the agent was sure) lies between the
litter's ``t`` and its ``t_cleared`` plus the tolerance (a litter never cleared lies there to the
end); pairs are taken closest first by the distance of the event's ``started_at`` from ``t``. A
``litter_cleared`` event matches a cleared litter when it ``resolves`` the event matched to that
litter and its clearing time (``started_at``) lies between ``t_cleared`` and ``t_cleared_end``
(whoever took it away has walked off: the ground is bare again once they step off it), widened
by the tolerance. ``latency_s`` is the mean time from ``t`` to the matched event's ``ended_at``.

A sack of loose waste tipped into a bin (the truth's ``loads``) is no single item: a disposal
event at that bin while it went on (``item_unseen``, most likely) is set aside, counted under
``loads``, neither a match nor a false alarm. An ``overflow`` event matches a truth overflow of
its bin when it comes while that bin was full: from ``t`` (less the tolerance) until the bin
was next emptied (plus the tolerance), closest ``started_at`` to ``t`` first.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from binwatch.edge.simulator.truth import Truth, TruthDisposal, TruthLitter, TruthVisit, parse
from binwatch.events.schema import REVIEW_FLAGS, VIOLATION_FLAGS, Event, EventKind, Flag

# The violations a scene's truth states; the review flags have no truth to be scored against.
SCORED_FLAGS = [f for f in Flag if f in VIOLATION_FLAGS]
COUNTED_FLAGS = [f for f in Flag if f in REVIEW_FLAGS]  # counted, per event and among matched ones

FORMAT = "binwatch-eval/1"
TOLERANCE_S = 2.0
LISTED = 15  # misses, false alarms and errors shown in the table; the JSON has them all


def score(events: Sequence[Event], truth: dict | Truth, tolerance_s: float = TOLERANCE_S) -> dict:
    """The evaluation report (a JSON-ready dict) of ``events`` against ``truth``."""
    truth = truth if isinstance(truth, Truth) else parse(truth)
    everything = events
    disposals = [e for e in events if e.kind is EventKind.DISPOSAL]
    at_loads = [e for e in disposals if _during(e, truth.loads, truth.start_time, tolerance_s)]
    events = [e for e in disposals if e not in at_loads]
    windows = [(_seconds(e.started_at, truth.start_time), _seconds(e.ended_at, truth.start_time)) for e in events]
    pairs = _match(events, windows, truth.disposals, tolerance_s)
    matched_events = {e: d for e, d in pairs}
    matched_disposals = {d: e for e, d in pairs}

    flags = {}
    flag_errors = []
    for flag in SCORED_FLAGS:
        tp = fp = fn = 0
        for i, event in enumerate(events):
            disposal = truth.disposals[matched_events[i]] if i in matched_events else None
            if flag in event.flags and (disposal is None or flag not in disposal.flags):
                fp += 1
                if disposal is not None:
                    flag_errors.append(_flag_error(disposal, event, flag, "raised"))
        for j, disposal in enumerate(truth.disposals):
            if flag not in disposal.flags:
                continue
            matched = events[matched_disposals[j]] if j in matched_disposals else None
            if matched is not None and flag in matched.flags:
                tp += 1
            else:
                fn += 1
                if matched is not None:
                    flag_errors.append(_flag_error(disposal, matched, flag, "missed"))
        flags[flag.value] = _flag_counts(tp, fp, fn)

    matches = [(truth.disposals[j], events[i]) for i, j in pairs]
    predicted = [(d, e, e.prediction) for d, e in matches if e.prediction is not None]
    category_errors = [_category_error(d, e) for d, e, p in predicted if p.category != d.category]
    with_item = [(d, p) for d, _, p in predicted if d.item is not None]
    n_truth, n_events, n_matched = len(truth.disposals), len(events), len(pairs)
    review = {
        flag.value: {
            "events": sum(flag in e.flags for e in events),
            "matched": sum(flag in events[i].flags for i in matched_events),
        }
        for flag in COUNTED_FLAGS
    }
    return {
        "format": FORMAT,
        "tolerance_s": tolerance_s,
        "condition": truth.condition,
        "disposals": _disposal_counts(n_truth, n_events, n_matched),
        "flags": flags,
        "review": review,
        "classification": {
            "matched": n_matched,
            "with_prediction": len(predicted),
            "category_correct": len(predicted) - len(category_errors),
            "category_accuracy": _ratio(len(predicted) - len(category_errors), len(predicted)),
            "item_accuracy": _ratio(sum(p.item == d.item for d, p in with_item), len(with_item)),
        },
        "misses": [_disposal(d) for j, d in enumerate(truth.disposals) if j not in matched_disposals],
        "false_alarms": [_event(e, windows[i]) for i, e in enumerate(events) if i not in matched_events],
        "flag_errors": sorted(flag_errors, key=lambda x: x["t"]),
        "category_errors": sorted(category_errors, key=lambda x: x["t"]),
        "littering": score_litter(everything, truth, tolerance_s),
        "emptying": score_emptying(everything, truth, tolerance_s),
        "overflow": score_overflow(everything, truth, tolerance_s),
        "loads": {"truth": len(truth.loads), "events": len(at_loads)},
        "mixed_collection": score_collection(everything, truth, tolerance_s),
    }


def score_litter(events: Sequence[Event], truth: Truth, tolerance_s: float) -> dict:
    """The ``littering`` section of an evaluation report."""
    found = [e for e in events if e.kind is EventKind.LITTERING]
    cleared = [e for e in events if e.kind is EventKind.LITTER_CLEARED]
    start = truth.start_time
    candidates = []
    for i, event in enumerate(found):
        began, sure = _seconds(event.started_at, start), _seconds(event.ended_at, start)
        for j, item in enumerate(truth.littering):
            gone = float("inf") if item.t_cleared is None else item.t_cleared + tolerance_s
            if item.zone_id == event.zone_id and item.t <= sure <= gone:
                candidates.append((abs(began - item.t), i, j))
    pairs = _closest(candidates)
    matched = {found[i].event_id: truth.littering[j] for i, j in pairs}
    clear_candidates = []
    for i, event in enumerate(cleared):
        litter = matched.get(event.resolves) if event.resolves is not None else None
        if litter is None or litter.t_cleared is None:
            continue
        at = _seconds(event.started_at, start)
        latest = litter.t_cleared_end if litter.t_cleared_end is not None else litter.t_cleared
        if litter.t_cleared - tolerance_s <= at <= latest + tolerance_s:
            clear_candidates.append((abs(at - litter.t_cleared), i, truth.littering.index(litter)))
    clear_pairs = _closest(clear_candidates)
    delays = [_seconds(found[i].ended_at, start) - truth.littering[j].t for i, j in pairs]
    n_cleared = sum(item.t_cleared is not None for item in truth.littering)
    matched_items = {j for _, j in pairs}
    matched_events = {i for i, _ in pairs}
    return {
        "littering": _counts(len(truth.littering), len(found), len(pairs)),
        "litter_cleared": _counts(n_cleared, len(cleared), len(clear_pairs)),
        "latency_s": round(sum(delays) / len(delays), 2) if delays else None,
        "missed": [_litter(item) for j, item in enumerate(truth.littering) if j not in matched_items],
        "false_alarms": [
            {"zone_id": e.zone_id, "t_start": _seconds(e.started_at, start), "t_end": _seconds(e.ended_at, start)}
            for i, e in enumerate(found)
            if i not in matched_events
        ],
    }


def score_emptying(events: Sequence[Event], truth: Truth, tolerance_s: float) -> dict:
    """``emptying`` events against the truth's emptyings: same bin, the event's window overlapping
    the worker's time at the bin (``t_start`` to ``t_end``) widened by the tolerance."""
    emptied = [e for e in events if e.kind is EventKind.EMPTYING]
    candidates = []
    for i, event in enumerate(emptied):
        began = _seconds(event.started_at, truth.start_time)
        for j, visit in enumerate(truth.emptyings):
            if _during(event, [visit], truth.start_time, tolerance_s):
                candidates.append((abs(began - visit.t_start), i, j))
    return _counts(len(truth.emptyings), len(emptied), len(_closest(candidates)))


def score_overflow(events: Sequence[Event], truth: Truth, tolerance_s: float) -> dict:
    """``overflow`` events against the truth's overflows: same bin, raised while it was full."""
    raised = [e for e in events if e.kind is EventKind.OVERFLOW]
    candidates = []
    for i, event in enumerate(raised):
        at = _seconds(event.started_at, truth.start_time)
        for j, full in enumerate(truth.overflows):
            emptied = [v.t_start for v in truth.emptyings if v.bin_id == full.bin_id and v.t_start >= full.t]
            until = min(emptied, default=float("inf"))
            if full.bin_id == event.bin_id and full.t - tolerance_s <= at <= until + tolerance_s:
                candidates.append((abs(at - full.t), i, j))
    return _counts(len(truth.overflows), len(raised), len(_closest(candidates)))


def _during(event: Event, visits: Sequence[TruthVisit], start: datetime, tolerance_s: float) -> bool:
    """Whether ``event`` overlaps one of ``visits`` at its bin, widened by the tolerance."""
    began, ended = _seconds(event.started_at, start), _seconds(event.ended_at, start)
    return any(
        v.bin_id == event.bin_id and began <= v.t_end + tolerance_s and ended >= v.t_start - tolerance_s for v in visits
    )


def score_collection(events: Sequence[Event], truth: Truth, tolerance_s: float) -> dict:
    """``mixed_collection`` events against the truth's mixed collections: same zone, the event's window
    overlapping the container's time in the picture (``t_start`` to ``t_end``) widened by the tolerance.
    ``compliant`` counts the collections that were not mixed (an event on one is a false alarm)."""
    found = [e for e in events if e.kind is EventKind.MIXED_COLLECTION]
    mixed = [c for c in truth.collections if c.mixed]
    start = truth.start_time
    candidates = []
    for i, event in enumerate(found):
        began, ended = _seconds(event.started_at, start), _seconds(event.ended_at, start)
        for j, visit in enumerate(mixed):
            if (
                visit.zone_id == event.zone_id
                and began <= visit.t_end + tolerance_s
                and ended >= visit.t_start - tolerance_s
            ):
                candidates.append((abs(began - visit.t_start), i, j))
    pairs = _closest(candidates)
    matched_events, matched_visits = {i for i, _ in pairs}, {j for _, j in pairs}
    return {
        **_counts(len(mixed), len(found), len(pairs)),
        "compliant": len(truth.collections) - len(mixed),
        "missed": [
            {"id": c.id, "zone_id": c.zone_id, "t_start": c.t_start, "categories": c.categories}
            for j, c in enumerate(mixed)
            if j not in matched_visits
        ],
        "false_alarms": [
            {
                "zone_id": e.zone_id,
                "t_start": _seconds(e.started_at, start),
                "t_end": _seconds(e.ended_at, start),
                "categories": e.categories,
            }
            for i, e in enumerate(found)
            if i not in matched_events
        ],
    }


def merge_litter(sections: Sequence[dict]) -> dict:
    """Several scenes' littering sections: counts added, ratios again (latency weighted by matches)."""
    out: dict = {}
    for kind in ("littering", "litter_cleared"):
        truth, events, matched = (sum(s[kind][key] for s in sections) for key in ("truth", "events", "matched"))
        out[kind] = _counts(truth, events, matched)
    weighted = [(s["latency_s"], s["littering"]["matched"]) for s in sections if s["latency_s"] is not None]
    total = sum(n for _, n in weighted)
    out["latency_s"] = round(sum(v * n for v, n in weighted) / total, 2) if total else None
    return out


def format_litter(section: dict) -> list[str]:
    lines = [f"  {'kind':<16} {'truth':>5} {'events':>6} {'matched':>7} {'recall':>7} {'precision':>9}"]
    for kind in ("littering", "litter_cleared"):
        c = section[kind]
        lines.append(
            f"  {kind:<16} {c['truth']:>5} {c['events']:>6} {c['matched']:>7} {_pct(c['recall']):>7}"
            f" {_pct(c['precision']):>9}"
        )
    if section["latency_s"] is not None:
        lines.append(f"  littering found {section['latency_s']:.1f} s after it was put down, on average")
    for row in section.get("missed", []):
        lines.append(f"  missed litter #{row['id']} in {row['zone_id']} at t={row['t']:.2f} s ({row['kind']})")
    for row in section.get("false_alarms", []):
        lines.append(f"  false littering in {row['zone_id']} at t={row['t_start']:.2f}–{row['t_end']:.2f} s")
    return lines


def _disposal_counts(truth: int, events: int, matched: int) -> dict:
    return {
        **_counts(truth, events, matched),
        "f1": _ratio(2 * matched, truth + events),
        "count_error": events - truth,
        "count_error_relative": _ratio(events - truth, truth),
    }


def _flag_counts(tp: int, fp: int, fn: int) -> dict:
    return {
        "truth": tp + fn,
        "events": tp + fp,
        "tp": tp,
        "fp": fp,
        "fn": fn,
        "precision": _ratio(tp, tp + fp),
        "recall": _ratio(tp, tp + fn),
        "f1": _ratio(2 * tp, 2 * tp + fp + fn),
    }


def merge(reports: Sequence[dict]) -> dict:
    """Several scenes' reports as one: their counts added, the ratios computed again (the lists of
    misses and errors are left to the scenes' own reports)."""
    d = {key: sum(r["disposals"][key] for r in reports) for key in ("truth", "events", "matched")}
    flags = {}
    for name in (f.value for f in SCORED_FLAGS):
        tp, fp, fn = (sum(r["flags"][name][key] for r in reports) for key in ("tp", "fp", "fn"))
        flags[name] = _flag_counts(tp, fp, fn)
    c = {
        key: sum(r["classification"][key] for r in reports)
        for key in ("matched", "with_prediction", "category_correct")
    }
    return {
        "format": FORMAT,
        "scenes": len(reports),
        "disposals": _disposal_counts(d["truth"], d["events"], d["matched"]),
        "flags": flags,
        "review": {
            name: {key: sum(r["review"][name][key] for r in reports) for key in ("events", "matched")}
            for name in (f.value for f in COUNTED_FLAGS)
        },
        "classification": {**c, "category_accuracy": _ratio(c["category_correct"], c["with_prediction"])},
        "littering": merge_litter([r["littering"] for r in reports]),
        "emptying": _counts(*(sum(r["emptying"][key] for r in reports) for key in ("truth", "events", "matched"))),
        "overflow": _counts(*(sum(r["overflow"][key] for r in reports) for key in ("truth", "events", "matched"))),
        "loads": {key: sum(r["loads"][key] for r in reports) for key in ("truth", "events")},
        "mixed_collection": {
            **_counts(*(sum(r["mixed_collection"][key] for r in reports) for key in ("truth", "events", "matched"))),
            "compliant": sum(r["mixed_collection"]["compliant"] for r in reports),
        },
    }


def by_condition(reports: Sequence[tuple[str, dict]]) -> dict[str, dict]:
    """(name, report) pairs merged per condition: the truth's ``condition``, else the given name."""
    groups: dict[str, list[dict]] = {}
    for name, report in reports:
        groups.setdefault(report.get("condition") or name, []).append(report)
    return {condition: merge(group) for condition, group in groups.items()}


def format_conditions(merged: dict[str, dict]) -> str:
    """One row per condition: disposals found, the flags' F1, the review flags, category accuracy."""
    header = (
        f"{'condition':<12} {'scenes':>6} {'truth':>5} {'events':>6} {'recall':>7} {'precision':>9}"
        f" {'unseen':>6} {'mixed F1':>8} {'kitchen F1':>10} {'off-hours F1':>12} {'category':>8}"
        f" {'emptying R/P':>13} {'overflow R/P':>13}"
    )
    lines = [header]
    for condition, r in merged.items():
        d, f = r["disposals"], r["flags"]
        lines.append(
            f"{condition:<12} {r['scenes']:>6} {d['truth']:>5} {d['events']:>6} {_pct(d['recall']):>7}"
            f" {_pct(d['precision']):>9} {r['review'][Flag.ITEM_UNSEEN.value]['events']:>6}"
            f" {_f1(f['mixed_disposal']):>8} {_f1(f['kitchen_contamination']):>10} {_f1(f['off_hours']):>12}"
            f" {_pct(r['classification']['category_accuracy']):>8}"
            f" {_recall_precision(r['emptying']):>13} {_recall_precision(r['overflow']):>13}"
        )
    for condition, r in merged.items():  # the other kinds, where a condition stages them
        m, e = r["mixed_collection"], r["emptying"]
        if m["truth"] or m["events"]:
            lines.append(
                f"{condition}: mixed collections truth {m['truth']} events {m['events']} recall {_pct(m['recall'])}"
                f" precision {_pct(m['precision'])} ({m['compliant']} compliant); emptyings truth {e['truth']}"
                f" recall {_pct(e['recall'])} precision {_pct(e['precision'])}"
            )
    return "\n".join(lines)


def _recall_precision(counts: dict) -> str:
    """``recall/precision`` of a kind of event, ``—`` where the scenes had none of it."""
    if not counts["truth"] and not counts["events"]:
        return "—"
    return f"{_pct(counts['recall'], digits=0)}/{_pct(counts['precision'], digits=0)}"


def _f1(flag: dict) -> str:
    return "—" if flag["f1"] is None else f"{flag['f1']:.3f}"


def _match(
    events: Sequence[Event], windows: list[tuple[float, float]], disposals: list[TruthDisposal], tolerance_s: float
) -> list[tuple[int, int]]:
    """(event index, disposal index) pairs, closest first: the distance of the landing time from
    the event window (zero inside it), then from the window's middle."""
    candidates = []
    for i, (event, (start, end)) in enumerate(zip(events, windows, strict=True)):
        for j, disposal in enumerate(disposals):
            if disposal.bin_id == event.bin_id and start - tolerance_s <= disposal.t <= end + tolerance_s:
                outside = max(0.0, start - disposal.t, disposal.t - end)
                candidates.append((outside, abs(disposal.t - (start + end) / 2), i, j))
    return _closest(candidates)


def _closest(candidates: Sequence[tuple]) -> list[tuple[int, int]]:
    """(i, j) pairs from candidates (keys…, i, j), best keys first, each i and each j used once."""
    pairs, used_i, used_j = [], set(), set()
    for *_, i, j in sorted(candidates):
        if i not in used_i and j not in used_j:
            pairs.append((i, j))
            used_i.add(i)
            used_j.add(j)
    return sorted(pairs)


def _seconds(at: datetime, start: datetime) -> float:
    return (at - start).total_seconds()


def _counts(truth: int, events: int, matched: int) -> dict:
    return {
        "truth": truth,
        "events": events,
        "matched": matched,
        "recall": _ratio(matched, truth),
        "precision": _ratio(matched, events),
    }


def _litter(item: TruthLitter) -> dict:
    return {"id": item.id, "zone_id": item.zone_id, "t": item.t, "t_cleared": item.t_cleared, "kind": item.kind}


def _ratio(numerator: float, denominator: float) -> float | None:
    return None if denominator == 0 else round(numerator / denominator, 4)


def _disposal(d: TruthDisposal) -> dict:
    return {
        "id": d.id,
        "t": d.t,
        "bin_id": d.bin_id,
        "item": d.item,
        "category": d.category,
        "flags": [f.value for f in d.flags],
    }


def _prediction(event: Event) -> dict:
    p = event.prediction
    return {"item": p.item, "category": p.category, "category_score": p.category_score} if p else {}


def _event(event: Event, window: tuple[float, float]) -> dict:
    return {
        "event_id": str(event.event_id),
        "t_start": round(window[0], 3),
        "t_end": round(window[1], 3),
        "bin_id": event.bin_id,
        "predicted": _prediction(event),
        "flags": [f.value for f in event.flags],
    }


def _flag_error(d: TruthDisposal, event: Event, flag: Flag, kind: str) -> dict:
    return {**_disposal(d), "flag": flag.value, "error": kind, "predicted": _prediction(event)}


def _category_error(d: TruthDisposal, event: Event) -> dict:
    return {**_disposal(d), "predicted": _prediction(event)}


def format_table(report: dict) -> str:
    """The report as text for a terminal."""
    d = report["disposals"]
    lines = [
        f"disposals (tolerance ±{report['tolerance_s']:g} s)",
        f"  truth {d['truth']}  events {d['events']}  matched {d['matched']}  recall {_pct(d['recall'])}"
        f"  precision {_pct(d['precision'])}"
        f"  count error {d['count_error']:+d} ({_pct(d['count_error_relative'], True)})",
        "",
        f"  {'flag':<22} {'truth':>5} {'events':>6} {'TP':>4} {'FP':>4} {'FN':>4}"
        f" {'precision':>9} {'recall':>7} {'F1':>6}",
    ]
    for name, f in report["flags"].items():
        f1 = _f1(f)
        lines.append(
            f"  {name:<22} {f['truth']:>5} {f['events']:>6} {f['tp']:>4} {f['fp']:>4} {f['fn']:>4} "
            f"{_pct(f['precision']):>9} {_pct(f['recall']):>7} {f1:>6}"
        )
    review = ", ".join(f"{n['events']} {name} ({n['matched']} of them matched)" for name, n in report["review"].items())
    c = report["classification"]
    lines += [
        f"  review flags: {review}",
        "",
        f"category accuracy {_pct(c['category_accuracy'])} ({c['category_correct']} of {c['with_prediction']}"
        f" matched events with a prediction); item accuracy {_pct(c['item_accuracy'])}",
    ]
    litter = report["littering"]
    if litter["littering"]["truth"] or litter["littering"]["events"]:
        lines += ["", f"litter on the ground (tolerance ±{report['tolerance_s']:g} s)", *format_litter(litter)]
    for name, e in (("emptyings", report["emptying"]), ("overflows", report["overflow"])):
        if e["truth"] or e["events"]:
            lines += [
                "",
                f"{name}: truth {e['truth']}  events {e['events']}  matched {e['matched']}"
                f"  recall {_pct(e['recall'])}  precision {_pct(e['precision'])}",
            ]
    if report["loads"]["truth"]:
        loads = report["loads"]
        lines.append(f"loads tipped in: {loads['truth']}, disposal events set aside there: {loads['events']}")
    m = report["mixed_collection"]
    if m["truth"] or m["events"] or m["compliant"]:
        lines += [
            "",
            f"mixed collections: truth {m['truth']} (and {m['compliant']} compliant)  events {m['events']}"
            f"  matched {m['matched']}  recall {_pct(m['recall'])}  precision {_pct(m['precision'])}",
        ]
        lines += [
            f"  missed #{r['id']} in {r['zone_id']} at t={r['t_start']:.2f} s ({', '.join(r['categories'])})"
            for r in m["missed"]
        ]
        lines += [
            f"  false mixed collection in {r['zone_id']} at t={r['t_start']:.2f}–{r['t_end']:.2f} s"
            f" ({', '.join(r['categories'] or [])})"
            for r in m["false_alarms"]
        ]
    sections = (
        ("missed disposals", report["misses"], _describe_disposal),
        ("false alarms", report["false_alarms"], _describe_event),
        ("flag errors", report["flag_errors"], _describe_flag_error),
        ("category errors", report["category_errors"], _describe_disposal),
    )
    for title, rows, describe in sections:
        if rows:
            lines += ["", f"{title} ({len(rows)}):"]
            lines += [f"  {describe(row)}" for row in rows[:LISTED]]
            if len(rows) > LISTED:
                lines.append(f"  … {len(rows) - LISTED} more in the JSON report")
    return "\n".join(lines)


def _pct(value: float | None, signed: bool = False, digits: int = 1) -> str:
    if value is None:
        return "—"
    return f"{value * 100:+.{digits}f}%" if signed else f"{value * 100:.{digits}f}%"


def _describe_predicted(p: dict) -> str:
    return f"predicted {p['item']} ({p['category']}, {p['category_score']:.2f})" if p else "no prediction"


def _describe_disposal(row: dict) -> str:
    text = f"t={row['t']:8.2f} s  #{row['id']:<4} {row['bin_id']:<14} {row['item'] or '?'} ({row['category']})"
    if "predicted" in row:
        text += f"  {_describe_predicted(row['predicted'])}"
    return text + (f"  flags: {', '.join(row['flags'])}" if row["flags"] else "")


def _describe_event(row: dict) -> str:
    return (
        f"t={row['t_start']:8.2f}–{row['t_end']:.2f} s  {row['bin_id']:<14} {_describe_predicted(row['predicted'])}"
        + (f"  flags: {', '.join(row['flags'])}" if row["flags"] else "")
    )


def _describe_flag_error(row: dict) -> str:
    return (
        f"t={row['t']:8.2f} s  #{row['id']:<4} {row['bin_id']:<14} {row['flag']} {row['error']}:"
        f" {row['item'] or '?'} ({row['category']}), {_describe_predicted(row['predicted'])}"
    )
