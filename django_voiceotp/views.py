"""Deprecated: the callback view lives in ``django_voiceotp.callbacks.views``, ``metrics_view`` in
``django_voiceotp.metrics``."""

from __future__ import annotations

import importlib
import warnings
from typing import Any

#: Each name this module held, and the module that holds it now.
MOVED = {
    "CallbackView": "django_voiceotp.callbacks.views",
    "JSONWhateverAccept": "django_voiceotp.negotiation",
    "metrics_view": "django_voiceotp.metrics",
}


def __getattr__(name: str) -> Any:
    if name not in MOVED:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    warnings.warn(
        f"django_voiceotp.views.{name} is deprecated: use {MOVED[name]}.{name}.",
        DeprecationWarning,
        stacklevel=2,
    )
    return getattr(importlib.import_module(MOVED[name]), name)
