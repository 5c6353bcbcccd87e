"""Each VOICEOTP value against its declaration, VOICEOTP itself, and keys it should not have."""

from __future__ import annotations

import reprlib

from django.core.checks import Error, Tags, Warning, register
from django.utils.module_loading import import_string

from ..conf import PROVIDER_OPTIONS, REQUIRED, SETTINGS, SETTINGS_NAME, Setting, voiceotp_settings
from ..conf.registry import is_whole
from ..exceptions import ImproperlyConfigured

#: A value as a message shows it: a setting of ten thousand characters is shortened.
_short = reprlib.Repr()
_short.maxstring = _short.maxother = 80


def readable() -> bool:
    """Whether VOICEOTP is a dict (or unset): when it is not, check_settings says so (E001) and
    the other checks have nothing to read."""
    try:
        voiceotp_settings.user_settings  # noqa: B018 - reading it validates its type
    except ImproperlyConfigured:
        return False
    return True


def malformed(key: str, expected: str, *, check_id: str = "E006", secret: bool = False) -> Error:
    """The error of a setting whose value is not what it must be."""
    value = getattr(voiceotp_settings, key)
    # A secret's value is never shown, nor a dict of test numbers' codes: their type only.
    shown = f"a {type(value).__name__}" if secret else _short.repr(value)
    return Error(
        f"{SETTINGS_NAME}[{key!r}] must be {expected}; it is {shown}.",
        id=f"django_voiceotp.{check_id}",
    )


def is_valid(setting: Setting, value: object) -> bool:
    """Whether ``value`` is well formed for ``setting``, by its declared predicate."""
    predicate = import_string(setting.valid) if isinstance(setting.valid, str) else setting.valid
    try:
        return bool(predicate(value))
    except Exception:  # a predicate meeting a value it was not written for: a wrong value
        return False


def malformed_values(checked_by: str) -> list[Error]:
    """One error per malformed value among the settings that the check ``checked_by`` answers
    for (the ``checked_by`` of their declarations)."""
    return [
        malformed(setting.name, setting.expected, check_id=setting.check_id, secret=setting.secret)
        for setting in SETTINGS
        if setting.checked_by == checked_by
        and not is_valid(setting, getattr(voiceotp_settings, setting.name))
    ]


@register(Tags.compatibility)
def check_settings(app_configs=None, **kwargs):
    """VOICEOTP is a dict with the required keys, the provider's settings, and no unknown key."""
    try:
        voiceotp_settings.user_settings  # noqa: B018 - reading it validates its type
    except ImproperlyConfigured as err:
        return [Error(str(err), id="django_voiceotp.E001")]
    errors = [
        Error(
            f"{SETTINGS_NAME}[{key!r}] is required and not set.",
            hint="See https://django-voiceotp.readthedocs.io/en/latest/settings.html.",
            id="django_voiceotp.E002",
        )
        for key in REQUIRED
        if not getattr(voiceotp_settings, key)
        # With PROVIDERS, each provider's entry gives its own (check_providers, E060).
        and not (key in PROVIDER_OPTIONS and voiceotp_settings.PROVIDERS is not None)
    ]
    errors += malformed_values("check_settings")
    for key in voiceotp_settings.unknown_keys():
        errors.append(
            Warning(
                f"{SETTINGS_NAME}[{key!r}] is not a setting of django-voiceotp; it is ignored.",
                id="django_voiceotp.W001",
            )
        )
    return errors


@register(Tags.compatibility)
def check_setting_values(app_configs=None, **kwargs):
    """Values of the right type and range, so a typo fails at start-up, not at the first call."""
    if not readable():
        return []
    errors = malformed_values("check_setting_values")
    low, high = voiceotp_settings.OTP_MIN_LENGTH, voiceotp_settings.OTP_MAX_LENGTH
    if is_whole(low, 1) and is_whole(high, 1) and low > high:
        errors.append(malformed("OTP_MIN_LENGTH", f"at most OTP_MAX_LENGTH ({high})"))
    return errors
