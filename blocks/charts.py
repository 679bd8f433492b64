"""Progress as a picture: a plan's progress chart as a PNG, with alt text.

Pure: the facts come in (storage/digests/charts.py gathers them, already filtered for
the audience), PNG bytes and a plain-text description go out. Two panels, stacked:

- action items done over time: the cumulative count by the day each was done, against
  an ideal line from nothing at the plan's start to all of them at its end, with the
  start, the end and today marked;
- each measurable objective's current value as a share of its target (units differ
  between objectives, so bars are drawn as % of target), labelled "3 of 5 IDNs".

Choices:
- Nothing to draw (no action items and no measurable objective): no chart at all
  (`progress_chart` returns None), so a digest of an empty plan carries no image.
  Items but none done: the panel is drawn and says "Nothing done yet".
- An item marked done without a date (an import of an older plan) counts from the
  plan's start: the curve ends at the true number done.
- At most MEASURES_MAX bars; the alt text says how many more there are.
- matplotlib is imported here, lazily (~0.5 s): the app's start and the ack path never
  pay for it. The figure is a bare `Figure` on the Agg canvas (no pyplot, no display,
  no global registry keeping figures alive), rendered to memory. Nothing global is
  changed while drawing (no rc_context, no warnings context: digests are drawn in
  several threads at once). "$" is escaped in drawn text, so a title with "$" is drawn
  as typed, never as math; `Chart.texts` gives the text as typed.
"""

from __future__ import annotations

import datetime as dt
import functools
import io
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

WIDTH, HEIGHT, DPI = 8.0, 4.5, 100  # 800 × 450 px, taller with many objectives
BAR_HEIGHT = 0.32  # inches per objective bar beyond the first few
MEASURES_MAX = 20
LABEL_MAX = 48  # characters of an objective's title on its bar
ALT_TEXT_MAX = 1000  # Slack's limit for an image's alt text
BAR_CAP = 1.5  # bars past 150 % of target are drawn to 150 % (the label says the value)

DONE_COLOUR, IDEAL_COLOUR, TODAY_COLOUR = "#2e7d32", "#9e9e9e", "#c62828"
BAR_COLOUR, TARGET_COLOUR = "#1565c0", "#424242"


class Measure(Protocol):
    title: str
    current: Decimal | float | None
    target: Decimal | float
    unit: str


class ProgressFacts(Protocol):
    """What the chart shows (storage.digests.charts.ProgressFacts)."""

    plan_name: str
    start: dt.date
    end: dt.date
    total_items: int
    done_on: Sequence[dt.date | None]  # one per done item: the day it was done (None: unknown)
    measures: Sequence[Measure]


@dataclass(frozen=True)
class Chart:
    png: bytes
    alt_text: str
    texts: tuple[str, ...]  # every piece of text drawn on the image (what a reader could see)
    width: int
    height: int


# ---------------------------------------------------------------------------
# Words


def number(value: Decimal | float | None) -> str:
    """12, 3.5, 1,250 — never 3.5000 or 1E+3."""
    if value is None:
        return "no value yet"
    value = Decimal(str(value))
    if value == value.to_integral_value():
        return f"{int(value):,}"
    return f"{value.normalize():,f}"


def short_day(day: dt.date) -> str:
    return f"{day:%b} {day.day} {day.year}"


def span(start: dt.date, end: dt.date) -> str:
    """Jan 1–Dec 31 2025, or Jul 1 2025–Jun 30 2026."""
    if start.year == end.year:
        return f"{start:%b} {start.day}–{short_day(end)}"
    return f"{short_day(start)}–{short_day(end)}"


def clip(text: str, limit: int) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def plain(text: str) -> str:
    """Text for matplotlib, drawn as typed: "$" would start math."""
    return text.replace("$", r"\$")


def typed(drawn: str) -> str:
    return drawn.replace(r"\$", "$")


def measure_label(measure: Measure) -> str:
    """"3 of 5 IDNs", or "no value yet (target 5 IDNs)"."""
    unit = f" {measure.unit}" if measure.unit else ""
    if measure.current is None:
        return f"no value yet (target {number(measure.target)}{unit})"
    return f"{number(measure.current)} of {number(measure.target)}{unit}"


def share(measure: Measure) -> float:
    """Current value as a share of the target (0 with no value; a target of 0 is met at 0)."""
    if measure.current is None:
        return 0.0
    current, target = float(measure.current), float(measure.target)
    if target == 0:
        return 1.0 if current == 0 else 0.0
    return max(0.0, current / target)


def done_count(facts: ProgressFacts) -> int:
    return len(facts.done_on)


def alt_text(facts: ProgressFacts, today: dt.date) -> str:
    """Plain, short, with the numbers: what the picture says, for screen readers."""
    parts = []
    if facts.total_items:
        parts.append(f"{done_count(facts)} of {facts.total_items} action items done")
    else:
        parts.append("no action items")
    parts.append(f"plan runs {span(facts.start, facts.end)}; today {short_day(today)}")
    shown = list(facts.measures[:MEASURES_MAX])
    for measure in shown:
        parts.append(f"{clip(measure.title, LABEL_MAX)} {measure_label(measure)}")
    more = len(facts.measures) - len(shown)
    if more:
        parts.append(f"and {more} more objectives")
    text = f"Progress of {clip(facts.plan_name, 80)}: " + "; ".join(parts) + "."
    return clip(text, ALT_TEXT_MAX)


# ---------------------------------------------------------------------------
# Drawing


def progress_chart(facts: ProgressFacts, today: dt.date) -> Chart | None:
    """The chart as PNG, or None when there is nothing to draw (see the module's choices)."""
    measures = list(facts.measures[:MEASURES_MAX])
    if not facts.total_items and not measures:
        return None
    from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: PLC0415 - lazily: see above
    from matplotlib.figure import Figure  # noqa: PLC0415
    from matplotlib.text import Text  # noqa: PLC0415

    panels = [p for p, wanted in (("items", facts.total_items > 0), ("measures", bool(measures))) if wanted]
    height = HEIGHT + max(0, len(measures) - 6) * BAR_HEIGHT
    _quiet_missing_glyphs()
    figure = Figure(figsize=(WIDTH, height), dpi=DPI, layout="constrained")
    FigureCanvasAgg(figure)  # the Agg canvas, explicitly: no display needed
    weights = [1.0] if len(panels) == 1 else [1.0, max(1.0, len(measures) / 5)]
    axes = figure.subplots(len(panels), 1, squeeze=False, height_ratios=weights)[:, 0]
    figure.suptitle(plain(clip(facts.plan_name, 90)), fontsize=11, fontweight="bold")
    for ax, panel in zip(axes, panels, strict=True):
        ax.tick_params(labelsize=8)
        if panel == "items":
            _draw_items(ax, facts, today)
        else:
            _draw_measures(ax, measures, len(facts.measures) - len(measures))
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI)
    texts = tuple(typed(t.get_text()) for t in figure.findobj(Text) if t.get_text().strip())
    width, height_px = (round(v) for v in figure.get_size_inches() * DPI)
    figure.clear()  # drop the artists now; nothing else holds the figure
    return Chart(buffer.getvalue(), alt_text(facts, today), texts, width, height_px)


@functools.cache
def _quiet_missing_glyphs() -> None:
    """A glyph the font lacks (an emoji in a title) is drawn as a box: not worth a warning.
    Once per process: the warnings filters are global."""
    warnings.filterwarnings("ignore", message="Glyph .* missing from", category=UserWarning)


def _draw_items(ax, facts: ProgressFacts, today: dt.date) -> None:
    total, done = facts.total_items, done_count(facts)
    days = sorted(day or facts.start for day in facts.done_on)
    first = min([facts.start, *days[:1]])
    last = max([facts.end, today, *days[-1:]])
    xs, ys = [first], [0]
    for count, day in enumerate(days, start=1):
        xs.append(day)
        ys.append(count)
    xs.append(min(max(today, days[-1] if days else first), last))
    ys.append(done)
    ax.step(xs, ys, where="post", color=DONE_COLOUR, linewidth=2, label="Done")
    ax.plot([facts.start, facts.end], [0, total], color=IDEAL_COLOUR, linestyle="--", label="Even pace, start to end of plan")
    for day in (facts.start, facts.end):
        ax.axvline(day, color=IDEAL_COLOUR, linewidth=0.8)
    ax.axvline(today, color=TODAY_COLOUR, linewidth=1, label="Today")
    if not done:
        ax.text(0.5, 0.5, "Nothing done yet", transform=ax.transAxes, ha="center", va="center",
                fontsize=12, color=TARGET_COLOUR)
    ax.set_xlim(first - dt.timedelta(days=1), last + dt.timedelta(days=1))
    ax.set_ylim(0, max(total, 1) * 1.05)
    ax.set_title(f"Action items done: {done} of {total}", loc="left", fontsize=10)
    ax.set_ylabel("Items done", fontsize=9)
    ax.legend(loc="upper left", fontsize=8, frameon=False)
    ax.grid(axis="y", alpha=0.3)
    from matplotlib import dates  # noqa: PLC0415 - loaded with matplotlib already

    locator = dates.AutoDateLocator(maxticks=8)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(dates.ConciseDateFormatter(locator))


def _draw_measures(ax, measures: list[Measure], more: int) -> None:
    rows = range(len(measures))
    shares = [share(m) for m in measures]
    ax.barh(rows, [min(s, BAR_CAP) * 100 for s in shares], color=BAR_COLOUR, height=0.6)
    ax.axvline(100, color=TARGET_COLOUR, linewidth=1, linestyle="--")
    ax.set_yticks(list(rows), [plain(clip(m.title, LABEL_MAX)) for m in measures])
    ax.invert_yaxis()  # the plan's order, top down
    for row, (measure, part) in enumerate(zip(measures, shares, strict=True)):
        percent = "" if measure.current is None else f" ({part:.0%})"
        ax.text(min(part, BAR_CAP) * 100 + 1, row, plain(measure_label(measure)) + percent,
                va="center", fontsize=8)
    ax.set_xlim(0, BAR_CAP * 100 + 45)
    ax.set_xticks([0, 25, 50, 75, 100, 125, 150], ["0%", "25%", "50%", "75%", "Target", "125%", "150%"])
    title = "Objectives against their targets"
    ax.set_title(title + (f" (first {len(measures)}; {more} more)" if more else ""), loc="left", fontsize=10)
    ax.grid(axis="x", alpha=0.3)
