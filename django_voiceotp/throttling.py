"""Deprecated: the client's address, the owner cookie and the DRF throttle live in
``django_voiceotp.limits.clients`` and ``django_voiceotp.limits.throttles``."""

from __future__ import annotations

from .deprecation import moved_names

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


__getattr__ = moved_names(__name__, MOVED)
