"""Deprecated: the verification API lives in ``django_voiceotp.verification_api``."""

from __future__ import annotations

import importlib
import warnings
from typing import Any

#: Each name this module held; all of them are in ``django_voiceotp.verification_api`` now.
MOVED = {
    name: "django_voiceotp.verification_api"
    for name in (
        "CHECK_FAILED",
        "MAX_JSON_DEPTH",
        "BodyTooLarge",
        "CallsUnavailable",
        "StrictJSONParser",
        "VerificationAPIView",
        "VerificationCheckView",
        "VerificationCreateView",
        "VerificationDetailView",
        "find_verification",
    )
}


def __getattr__(name: str) -> Any:
    if name not in MOVED:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    warnings.warn(
        f"django_voiceotp.api_views.{name} is deprecated: use {MOVED[name]}.{name}.",
        DeprecationWarning,
        stacklevel=2,
    )
    return getattr(importlib.import_module(MOVED[name]), name)
