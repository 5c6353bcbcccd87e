"""The VOICEOTP settings: defaults, validation, and one object that reads them."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.signals import setting_changed

from .exceptions import ImproperlyConfigured

SETTINGS_NAME = "VOICEOTP"

#: Every key a project may set, with its default. docs/settings.rst documents each one.
DEFAULTS: dict[str, Any] = {
    # The provider
    "API_URL": None,
    "SECRET_KEY": None,
    "AUTH_SCHEME": "",
    "TIMEOUT": (5.0, 15.0),
    "TOKEN_REFRESH_MARGIN": 3600,
    "TOKEN_CACHE_ALIAS": "default",
    "PROVIDER_TIMEZONE": "Asia/Ho_Chi_Minh",
    # Input
    "PHONE_REGION": "VN",
    "PHONE_FORMAT": "national",
    "OTP_MIN_LENGTH": 4,
    "OTP_MAX_LENGTH": 8,
    # Delivery
    "DEFAULT_CAMPAIGN": None,
    "CALLBACK_BASE_URL": None,
    "CALLBACK_MAX_BODY_SIZE": 16384,
    "CALLBACK_TOKEN_MAX_AGE": None,
    # Seconds a call's callback token is still accepted after the call has its result.
    "CALLBACK_FINAL_GRACE": 300,
    "SEND_MAX_RETRIES": 5,
    "SEND_RETRY_BACKOFF": 2,
    "SEND_RETRY_BACKOFF_MAX": 120,
    "OTP_MAX_AGE": 300,
    "PENDING_GRACE": 60,
    # Health: the sweeper's last run must be more recent than this (voiceotp_check, contrib.health).
    "SWEEPER_MAX_AGE": 300,
    # The queue work is handed to: "celery", "django" (Django's tasks framework) or a dotted path.
    "DISPATCHER": "celery",
    "POLL_SCHEDULE": (15, 30, 60, 120, 300),
    # Reaching the person: redials of "not reached" calls, then a fallback (delivery.py)
    "REDIAL_MAX": 0,
    "REDIAL_DELAY": 20,
    # None: the provider's "not reached" statuses, delivery.NOT_REACHED_STATUSES.
    "REDIAL_STATUSES": None,
    "FALLBACK_SENDER": None,
    # Verification (request_code / verify_code)
    "CODE_LENGTH": 6,
    "CODE_TTL": 300,
    "MAX_ATTEMPTS": 5,
    # Numbers given a fixed code and no call (QA, app-store review): {"+84 77 000 0001": "123456"}
    "TEST_NUMBERS": {},
    # Wrong guesses at a test number's fixed code, across its codes, before it is locked for the
    # rest of the UTC day (0 or None: no lock).
    "TEST_GUESSES_PER_DAY": 20,
    # Abuse limits: every refused request raises RateLimited and places no call.
    "RESEND_COOLDOWN": 60,
    "SENDS_PER_NUMBER_PER_HOUR": 5,
    "SENDS_PER_NUMBER_PER_DAY": 10,
    "SENDS_PER_IP_PER_HOUR": 20,
    # Of SENDS_PER_NUMBER_PER_DAY, what only a client that verified the number before may use.
    "SENDS_RESERVED_FOR_OWNER_PER_DAY": 3,
    # The site's budget: calls placed (first calls, redials, calls placed again) and fallback
    # messages sent by the whole site, per clock hour and UTC day (docs/limits.rst).
    "SENDS_PER_HOUR": 500,
    "SENDS_PER_DAY": 5000,
    "FALLBACKS_PER_HOUR": 200,
    # The kill switch: True refuses every call and fallback message.
    "SENDING_PAUSED": False,
    "ALLOWED_COUNTRY_CODES": (84,),
    "DENIED_PREFIXES": ("+841900",),
    # Names of phonenumbers.PhoneNumberType; None allows every type.
    "ALLOWED_NUMBER_TYPES": ("MOBILE", "FIXED_LINE", "FIXED_LINE_OR_MOBILE"),
    "TRUSTED_PROXY_HEADER": None,
    # Proxies of your own in front of the site that each append to TRUSTED_PROXY_HEADER.
    "TRUSTED_PROXY_HOPS": 1,
    # A client that verified a number within this many seconds is its owner (a cookie, or its
    # address): it keeps SENDS_RESERVED_FOR_OWNER_PER_DAY of the number's day. 0: no owners.
    "OWNER_MAX_AGE": 90 * 24 * 3600,
    "LIMITS_CACHE_ALIAS": "default",
}

REQUIRED = ("API_URL", "SECRET_KEY")
#: Keys that settings read from JSON give as lists: turned into tuples once, on read, so the code
#: (and ``requests``, which takes a tuple timeout only) sees one shape.
TUPLE_KEYS = ("TIMEOUT", "POLL_SCHEDULE")
PHONE_FORMATS = ("national", "e164")
AUTH_SCHEMES = ("", "Bearer")


class VoiceOTPSettings:
    """Attribute access to VOICEOTP with defaults; read lazily so override_settings works.

    A value is looked up and coerced once, then kept as an attribute until the setting changes
    (``reload``): the hot path reads settings many times per call.
    """

    def __init__(self) -> None:
        self._user_settings: dict[str, Any] | None = None

    @property
    def user_settings(self) -> dict[str, Any]:
        if self._user_settings is None:
            value = getattr(settings, SETTINGS_NAME, {}) or {}
            if not isinstance(value, dict):
                raise ImproperlyConfigured(f"{SETTINGS_NAME} must be a dict.")
            self._user_settings = value
        return self._user_settings

    def __getattr__(self, key: str) -> Any:
        if key not in DEFAULTS:
            raise AttributeError(f"Unknown {SETTINGS_NAME} setting: {key!r}")
        value = self.user_settings.get(key, DEFAULTS[key])
        if key in TUPLE_KEYS and isinstance(value, list):
            value = tuple(value)
        setattr(self, key, value)  # found by normal lookup from now on, until reload()
        return value

    def unknown_keys(self) -> list[str]:
        return sorted(set(self.user_settings) - set(DEFAULTS))

    def require(self, key: str) -> Any:
        """Return a required setting, or raise ImproperlyConfigured naming the missing key."""
        value = getattr(self, key)
        if not value:
            raise ImproperlyConfigured(f"{SETTINGS_NAME}[{key!r}] is required and not set.")
        return value

    def reload(self) -> None:
        self._user_settings = None
        for key in DEFAULTS:
            self.__dict__.pop(key, None)


voiceotp_settings = VoiceOTPSettings()


def _reload_on_change(*, setting: str, **kwargs: Any) -> None:
    if setting == SETTINGS_NAME:
        voiceotp_settings.reload()


setting_changed.connect(_reload_on_change)
