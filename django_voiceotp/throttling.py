"""Deprecated: the client's address, the owner cookie and the DRF throttle live in
``django_voiceotp.limits.clients`` and ``django_voiceotp.limits.throttles``."""

from __future__ import annotations

import importlib
import warnings
from typing import Any

#: Each name this module held, and the module that holds it now.
MOVED = {
    "UNKNOWN_CLIENT": "django_voiceotp.limits.clients",
    "OWNER_COOKIE": "django_voiceotp.limits.clients",
    "OWNER_COOKIE_SALT": "django_voiceotp.limits.clients",
    "OWNER_NUMBER_SALT": "django_voiceotp.limits.clients",
    "OWNER_COOKIE_NUMBERS": "django_voiceotp.limits.clients",
    "client_ip": "django_voiceotp.limits.clients",
    "is_owner": "django_voiceotp.limits.clients",
    "remember_owner": "django_voiceotp.limits.clients",
    "VerificationRequestThrottle": "django_voiceotp.limits.throttles",
}


def __getattr__(name: str) -> Any:
    if name not in MOVED:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    warnings.warn(
        f"django_voiceotp.throttling.{name} is deprecated: use {MOVED[name]}.{name}.",
        DeprecationWarning,
        stacklevel=2,
    )
    return getattr(importlib.import_module(MOVED[name]), name)
