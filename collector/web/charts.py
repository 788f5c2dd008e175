"""Chart geometry for the statistics page, drawn by the template as inline SVG (no script, no network)."""

from __future__ import annotations

from dataclasses import dataclass

from binwatch.collector.stats import Tally
from binwatch.collector.web.labels import text


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    css: str
    title: str


@dataclass(frozen=True)
class Label:
    x: float
    y: float
    text: str
    anchor: str = "middle"


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    bars: list[Bar]
    labels: list[Label]
    gridlines: list[Label]


# Two widths of each chart, one shown by the stylesheet: on a phone, the wide one scaled down to fit
# would have 6-pixel letters.
WIDE, NARROW = 640, 360


def compliance_by_row(rows: list[Tally], width: int = WIDE, row_height: int = 26) -> Chart:
    """Horizontal bars: the compliance rate of each site (or entity), 0–100 %."""
    left, right = (180, 60) if width >= WIDE else (110, 50)
    label_chars = (left - 12) // 6
    span = width - left - right
    height = row_height * len(rows) + 30
    bars, labels = [], []
    for i, t in enumerate(rows):
        y = 10 + i * row_height
        rate = t.compliance_rate or 0.0
        bars.append(
            Bar(
                left,
                y,
                span * rate,
                row_height - 8,
                "bar-ok" if rate >= 0.9 else "bar-warn",
                f"{t.label}: " + text("stats.of", rate=f"{rate * 100:.1f} %", n=t.disposals),
            )
        )
        labels.append(Label(left - 8, y + row_height / 2, t.label[:label_chars], "end"))
        labels.append(Label(left + span * rate + 6, y + row_height / 2, f"{rate * 100:.1f} %", "start"))
    grid = [Label(left + span * f, height - 6, f"{int(f * 100)} %") for f in (0, 0.25, 0.5, 0.75, 1.0)]
    return Chart(width, height, bars, labels, grid)


def disposals_by_day(rows: list[Tally], width: int = WIDE, height: int = 220) -> Chart:
    """Stacked columns per day: compliant disposals below, non-compliant above."""
    left, bottom, top = 40, 40, 10
    plot_h = height - bottom - top
    peak = max((t.disposals for t in rows), default=0) or 1
    step = (width - left - 10) / max(len(rows), 1)
    column = max(min(step * 0.7, 40), 2)
    bars, labels = [], []
    every = max(1, -(-len(rows) // max(1, width // 64)))  # a day label every ~64 units
    for i, t in enumerate(rows):
        x = left + i * step + (step - column) / 2
        ok_h = plot_h * t.compliant / peak
        bad_h = plot_h * (t.disposals - t.compliant) / peak
        base = top + plot_h
        ok_title = f"{t.key}: {t.compliant} · " + text("stats.legend_ok")
        bad_title = f"{t.key}: {t.disposals - t.compliant} · " + text("stats.legend_bad")
        bars.append(Bar(x, base - ok_h, column, ok_h, "bar-ok", ok_title))
        bars.append(Bar(x, base - ok_h - bad_h, column, bad_h, "bar-bad", bad_title))
        if i % every == 0:
            labels.append(Label(x + column / 2, height - bottom + 16, t.key[5:]))
    grid = [Label(left - 6, top + plot_h * (1 - f), str(round(peak * f)), "end") for f in (0, 0.5, 1.0)]
    return Chart(width, height, bars, labels, grid)
