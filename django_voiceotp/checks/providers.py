"""The voice providers: PROVIDERS names backends that import, and gives each what it needs."""

from __future__ import annotations

import inspect

from django.core.checks import Error, Tags, register
from django.utils.module_loading import import_string

from ..conf import SETTINGS_NAME, voiceotp_settings
from ..providers import DEFAULT_PROVIDER
from ..providers.base import BaseProvider
from .settings import malformed_values, readable

HINT = (
    'Give each provider a dict such as {"BACKEND": '
    '"django_voiceotp.providers.pitel.PitelProvider", "API_URL": ..., "SECRET_KEY": ...} '
    "(see https://django-voiceotp.readthedocs.io/en/latest/providers.html)."
)


@register(Tags.compatibility)
def check_providers(app_configs=None, **kwargs):
    """Each entry of PROVIDERS names a BaseProvider subclass and gives its required options.

    No message shows an option's value: the entries hold credentials.
    """
    if not readable():
        return []
    errors = malformed_values("check_providers")
    entries = voiceotp_settings.PROVIDERS
    if errors:
        return errors
    errors += _check_failover(entries)
    if entries is None:
        return errors  # None: the flat keys, which check_settings answers for
    for name, entry in entries.items():
        where = f"{SETTINGS_NAME}['PROVIDERS'][{name!r}]"
        try:
            backend = import_string(entry["BACKEND"])
        except Exception as err:  # ImportError, or whatever the module raises as it is imported
            errors.append(
                Error(
                    f"{where}['BACKEND'] cannot be imported: {type(err).__name__}: {err}",
                    hint=HINT,
                    id="django_voiceotp.E060",
                )
            )
            continue
        if not (inspect.isclass(backend) and issubclass(backend, BaseProvider)):
            errors.append(
                Error(
                    f"{where}['BACKEND'] must name a subclass of "
                    "django_voiceotp.providers.base.BaseProvider; "
                    f"{entry['BACKEND']!r} is not one.",
                    hint=HINT,
                    id="django_voiceotp.E060",
                )
            )
            continue
        errors += [
            Error(
                f"{where}[{option!r}] is required by {backend.__name__} and not set.",
                hint=HINT,
                id="django_voiceotp.E060",
            )
            for option in backend.required_options
            if not entry.get(option)
        ]
    return errors


def _check_failover(entries) -> list[Error]:
    """Each name of FAILOVER is a provider: of PROVIDERS, or "pitel" (the flat keys) without it."""
    names = entries if entries is not None else (DEFAULT_PROVIDER,)
    return [
        Error(
            f"{SETTINGS_NAME}['FAILOVER'] names {name!r}, which is not a provider "
            f"(the providers are: {', '.join(map(repr, names))}).",
            hint="Name providers of PROVIDERS, in order of preference.",
            id="django_voiceotp.E062",
        )
        for name in voiceotp_settings.FAILOVER or ()
        if name not in names
    ]
