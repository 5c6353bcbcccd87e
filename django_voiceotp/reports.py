"""Deprecated: campaign statistics moved to ``django_voiceotp.admin.statistics``, their chart to
``django_voiceotp.admin.chart`` ("report" is the provider's word for a call's result)."""

from __future__ import annotations

from .deprecation import moved_names

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
        "django_voiceotp.admin.statistics",
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
        "django_voiceotp.admin.chart",
    ),
}


__getattr__ = moved_names(__name__, MOVED)
