"""The geometry of the summary page's chart."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.utils import translation

from django_voiceotp.admin.chart import MAX_DAY_LABELS, _nice_ceiling, build_chart
from django_voiceotp.admin.statistics import Day


@pytest.mark.parametrize(
    ("value", "ceiling"), [(0, 4), (4, 4), (5, 8), (9, 20), (21, 40), (41, 80), (150, 200)]
)
def test_the_count_axis_ends_on_four_even_steps(value, ceiling):
    assert _nice_ceiling(value) == ceiling


def test_bars_are_stacked_in_proportion_and_the_rate_skips_days_without_results():
    days = [
        Day(date(2026, 11, 1), total=4, success=2, failed=1),  # one still in progress
        Day(date(2026, 11, 2), total=0, success=0, failed=0),
        Day(date(2026, 11, 3), total=2, success=2, failed=0),
    ]
    chart = build_chart(days)
    plot_height = chart.plot_bottom - chart.plot_top
    first = chart.bars[0]
    assert first.success_height == pytest.approx(plot_height / 2)  # 2 of a 4-call axis
    assert first.failed_height == first.progress_height == pytest.approx(plot_height / 4)
    assert first.progress_y == pytest.approx(chart.plot_top)  # the full bar reaches the top
    assert chart.bars[1].success_height == 0
    # Two points: 2/3 on day one, 100% on day three; the empty day has no rate to draw.
    assert len(chart.rate_dots) == 2
    assert chart.rate_dots[0][1] == pytest.approx(chart.plot_bottom - plot_height * 2 / 3, abs=0.1)
    assert chart.rate_dots[1][1] == pytest.approx(chart.plot_top)
    assert [tick.label for tick in chart.count_ticks] == ["0", "1", "2", "3", "4"]


@pytest.mark.parametrize("period", [7, 14, 30, 90])
def test_day_labels_are_the_short_date_of_the_language_and_do_not_crowd(period):
    first = date(2026, 11, 1)
    days = [Day(first + timedelta(days=n), 0, 0, 0) for n in range(period)]
    with translation.override("en"):
        chart = build_chart(days)
    shown = [bar for bar in chart.bars if bar.show_label]
    assert 1 < len(shown) <= MAX_DAY_LABELS
    assert shown[-1] is chart.bars[-1]  # today always has its label
    assert chart.bars[0].label == "11/01/2026"
    assert chart.bars[0].title.startswith("11/01/2026: ")
    with translation.override("vi"):
        assert build_chart(days).bars[0].label == "01-11-2026"
