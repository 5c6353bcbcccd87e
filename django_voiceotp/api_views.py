"""Deprecated: the verification API lives in ``django_voiceotp.verification_api``."""

from __future__ import annotations

from .deprecation import moved_names

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


__getattr__ = moved_names(__name__, MOVED)
