"""Django system checks for the VOICEOTP settings."""

from __future__ import annotations

from urllib.parse import urlparse

from django.core.checks import Error, Tags, Warning, register

from .conf import AUTH_SCHEMES, PHONE_FORMATS, REQUIRED, SETTINGS_NAME, voiceotp_settings
from .exceptions import ImproperlyConfigured


def _is_http_url(value: object) -> bool:
    if not isinstance(value, str):
        return False
    parsed = urlparse(value)
    return parsed.scheme in ("http", "https") and bool(parsed.netloc)


@register(Tags.compatibility)
def check_settings(app_configs=None, **kwargs):
    try:
        voiceotp_settings.user_settings  # noqa: B018 - reading it validates its type
    except ImproperlyConfigured as err:
        return [Error(str(err), id="django_voiceotp.E001")]
    errors = []
    for key in REQUIRED:
        if not getattr(voiceotp_settings, key):
            errors.append(
                Error(
                    f"{SETTINGS_NAME}[{key!r}] is required and not set.",
                    hint="See the Settings section of django-voiceotp's README.",
                    id="django_voiceotp.E002",
                )
            )
    api_url = voiceotp_settings.API_URL
    if api_url and not _is_http_url(api_url):
        errors.append(
            Error(f"{SETTINGS_NAME}['API_URL'] must be an http(s) URL.", id="django_voiceotp.E003")
        )
    if voiceotp_settings.AUTH_SCHEME not in AUTH_SCHEMES:
        errors.append(
            Error(
                f"{SETTINGS_NAME}['AUTH_SCHEME'] must be one of {AUTH_SCHEMES}.",
                id="django_voiceotp.E004",
            )
        )
    if voiceotp_settings.PHONE_FORMAT not in PHONE_FORMATS:
        errors.append(
            Error(
                f"{SETTINGS_NAME}['PHONE_FORMAT'] must be one of {PHONE_FORMATS}.",
                id="django_voiceotp.E005",
            )
        )
    for key in voiceotp_settings.unknown_keys():
        errors.append(
            Warning(
                f"{SETTINGS_NAME}[{key!r}] is not a setting of django-voiceotp; it is ignored.",
                id="django_voiceotp.W001",
            )
        )
    return errors
