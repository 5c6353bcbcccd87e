"""The summary page's chart, calls per day with the success rate over them, as SVG geometry.

The template draws it; this module only measures: no query, no HTML.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from django.utils import formats

from .statistics import Day

# Drawing area inside the SVG, in its own units; the SVG scales to the page width.
WIDTH, HEIGHT = 760, 260
LEFT, RIGHT, TOP, BOTTOM = 44, 48, 16, 36
#: Day labels under the axis at most: a short date such as 12/02/2026 needs about 80 units.
MAX_DAY_LABELS = 8


@dataclass(frozen=True)
class Bar:
    x: float
    width: float
    # Stacked from the bottom: successes, failures, calls still in progress.
    success_y: float
    success_height: float
    failed_y: float
    failed_height: float
    progress_y: float
    progress_height: float
    label: str
    show_label: bool
    title: str


@dataclass(frozen=True)
class Tick:
    y: float
    label: str


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    plot_left: float
    plot_right: float
    plot_top: float
    plot_bottom: float
    bars: list[Bar]
    #: The success rate line, an SVG ``points`` attribute; days without results are skipped.
    rate_points: str
    rate_dots: list[tuple[float, float]]
    count_ticks: list[Tick]
    rate_ticks: list[Tick]


def build_chart(days: list[Day]) -> Chart:
    """Geometry of a bar chart of calls per day with the success rate drawn over it."""
    plot_width = WIDTH - LEFT - RIGHT
    plot_height = HEIGHT - TOP - BOTTOM
    bottom = TOP + plot_height
    top_count = _nice_ceiling(max((day.total for day in days), default=0))
    slot = plot_width / max(len(days), 1)
    label_every = max(1, math.ceil(len(days) / MAX_DAY_LABELS))

    def height_of(count: int) -> float:
        return plot_height * count / top_count

    bars = []
    points = []
    for index, day in enumerate(days):
        x = LEFT + index * slot + slot * 0.15
        success_h = height_of(day.success)
        failed_h = height_of(day.failed)
        progress_h = height_of(day.in_progress)
        rate = day.success_rate
        bars.append(
            Bar(
                x=round(x, 1),
                width=round(slot * 0.7, 1),
                success_y=round(bottom - success_h, 1),
                success_height=round(success_h, 1),
                failed_y=round(bottom - success_h - failed_h, 1),
                failed_height=round(failed_h, 1),
                progress_y=round(bottom - success_h - failed_h - progress_h, 1),
                progress_height=round(progress_h, 1),
                # As the table below the chart writes the day, in the language of the page.
                label=formats.date_format(day.day, "SHORT_DATE_FORMAT"),
                show_label=(len(days) - 1 - index) % label_every == 0,
                title=_bar_title(day),
            )
        )
        if rate is not None:
            points.append(
                (round(LEFT + (index + 0.5) * slot, 1), round(bottom - plot_height * rate, 1))
            )

    count_ticks = [
        Tick(round(bottom - plot_height * step / 4, 1), _count_label(top_count * step / 4))
        for step in range(5)
    ]
    rate_ticks = [
        Tick(round(bottom - plot_height * step / 4, 1), f"{step * 25}%") for step in range(5)
    ]
    return Chart(
        width=WIDTH,
        height=HEIGHT,
        plot_left=LEFT,
        plot_right=WIDTH - RIGHT,
        plot_top=TOP,
        plot_bottom=bottom,
        bars=bars,
        rate_points=" ".join(f"{x},{y}" for x, y in points),
        rate_dots=points,
        count_ticks=count_ticks,
        rate_ticks=rate_ticks,
    )


def _nice_ceiling(value: int) -> int:
    """Top of the count axis: four ticks of 1, 2 or 5 times a power of ten, at least ``value``."""
    magnitude = 1
    while True:
        for step in (1, 2, 5):
            if 4 * step * magnitude >= value:
                return 4 * step * magnitude
        magnitude *= 10


def _count_label(value: float) -> str:
    return str(int(value)) if value == int(value) else f"{value:.1f}"


def _bar_title(day: Day) -> str:
    # A tooltip in figures only, so it needs no translation; the date as the axis writes it.
    rate = day.success_rate
    rate_text = f" · {rate:.0%}" if rate is not None else ""
    when = formats.date_format(day.day, "SHORT_DATE_FORMAT")
    return f"{when}: {day.total} ({day.success} ✓ / {day.failed} ✗){rate_text}"
