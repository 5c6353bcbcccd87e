"""The VOICEOTP settings: one object that reads them, with the defaults their declarations give."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.signals import setting_changed

from ..exceptions import ImproperlyConfigured
from .definitions import AUTH_SCHEMES, DISPATCHERS, PHONE_FORMATS, PROVIDER_OPTIONS, SETTINGS
from .registry import Setting

__all__ = [
    "AUTH_SCHEMES",
    "DEFAULTS",
    "DISPATCHERS",
    "PHONE_FORMATS",
    "PROVIDER_OPTIONS",
    "REQUIRED",
    "SETTINGS",
    "SETTINGS_NAME",
    "TUPLE_KEYS",
    "Setting",
    "VoiceOTPSettings",
    "voiceotp_settings",
]

SETTINGS_NAME = "VOICEOTP"

#: Every key a project may set, with its default: read from the declarations (definitions.py),
#: which docs/settings.rst renders.
DEFAULTS: dict[str, Any] = {setting.name: setting.default for setting in SETTINGS}
REQUIRED = tuple(setting.name for setting in SETTINGS if setting.required)
#: Keys that settings read from JSON give as lists: turned into tuples once, on read, so the code
#: (and ``requests``, which takes a tuple timeout only) sees one shape.
TUPLE_KEYS = tuple(setting.name for setting in SETTINGS if setting.list_as_tuple)


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
