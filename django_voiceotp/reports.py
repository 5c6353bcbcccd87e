"""Deprecated: campaign statistics moved to ``django_voiceotp.admin.statistics``, their chart to
``django_voiceotp.admin.chart`` ("report" is the provider's word for a call's result)."""

from __future__ import annotations

import warnings

from .admin import chart, statistics

#: Each name this module held, and the module it lives in now.
MOVED = {
    **dict.fromkeys(
        (
            "REAL",
            "SUCCESS",
            "FAILED",
            "TEST",
            "success_rate",
            "Day",
            "_window",
            "daily_stats",
            "Conversion",
            "daily_conversion",
        ),
        statistics,
    ),
    **dict.fromkeys(
        (
            "WIDTH",
            "HEIGHT",
            "LEFT",
            "RIGHT",
            "TOP",
            "BOTTOM",
            "MAX_DAY_LABELS",
            "Bar",
            "Tick",
            "Chart",
            "build_chart",
            "_nice_ceiling",
            "_count_label",
            "_bar_title",
        ),
        chart,
    ),
}


def __getattr__(name: str):
    if name not in MOVED:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    module = MOVED[name]
    warnings.warn(
        f"{__name__}.{name} is deprecated: import it from {module.__name__}.",
        DeprecationWarning,
        stacklevel=2,
    )
    return getattr(module, name)
