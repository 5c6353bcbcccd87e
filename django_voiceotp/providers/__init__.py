"""The seam between the app and its voice providers: each one a backend, chosen by a setting.

``VOICEOTP["PROVIDERS"]`` names the providers, each with the dotted path of its
:class:`~django_voiceotp.providers.base.BaseProvider` subclass (``BACKEND``) and its options.
Without it, the flat keys (``API_URL``, ``SECRET_KEY``, ``DEFAULT_CAMPAIGN``, ...) describe one
Pitel provider named ``"pitel"``, as before there were backends. Services reach a provider through
:func:`get_provider` only, never a backend's module.
"""

from __future__ import annotations

import threading
from typing import Any

from django.core.signals import setting_changed
from django.utils.module_loading import import_string

from ..conf import SETTINGS_NAME, voiceotp_settings
from ..exceptions import ImproperlyConfigured
from .base import BaseProvider, StartedCall

#: The provider the flat VOICEOTP keys describe, when PROVIDERS is not set.
DEFAULT_PROVIDER = "pitel"
PITEL_BACKEND = "django_voiceotp.providers.pitel.PitelProvider"

__all__ = [
    "DEFAULT_PROVIDER",
    "PITEL_BACKEND",
    "BaseProvider",
    "StartedCall",
    "default_provider_name",
    "get_provider",
    "provider_entries",
]

_providers: dict[str, BaseProvider] = {}
_providers_lock = threading.Lock()


def provider_entries() -> dict[str, dict[str, Any] | None]:
    """Each provider's name and its entry of ``PROVIDERS``, in their order; None for the one the
    flat keys describe (``PROVIDERS`` not set)."""
    configured = voiceotp_settings.PROVIDERS
    if configured is None:
        return {DEFAULT_PROVIDER: None}
    if not isinstance(configured, dict) or not configured:
        raise ImproperlyConfigured(
            f"{SETTINGS_NAME}['PROVIDERS'] must be a dict of provider names to their settings."
        )
    return configured


def default_provider_name() -> str:
    """The provider a new campaign belongs to: the first of ``PROVIDERS`` (``"pitel"`` without)."""
    return next(iter(provider_entries()))


def get_provider(name: str | None = None) -> BaseProvider:
    """The backend of the provider ``name`` (the default provider for None): one instance per
    name, per process, made again when the settings change.

    :raises ImproperlyConfigured: when no provider has that name, or its entry is unusable.
    """
    name = name or default_provider_name()
    provider = _providers.get(name)  # the common case takes no lock
    if provider is not None:
        return provider
    with _providers_lock:
        provider = _providers.get(name)
        if provider is None:
            provider = _providers[name] = _make(name)
    return provider


def _make(name: str) -> BaseProvider:
    entries = provider_entries()
    if name not in entries:
        raise ImproperlyConfigured(
            f"No provider is named {name!r} in {SETTINGS_NAME}['PROVIDERS'] "
            f"(the names are: {', '.join(map(repr, entries))})."
        )
    options = entries[name]
    if options is None:
        return import_string(PITEL_BACKEND)(name)
    if not isinstance(options, dict) or not isinstance(options.get("BACKEND"), str):
        raise ImproperlyConfigured(
            f"{SETTINGS_NAME}['PROVIDERS'][{name!r}] must be a dict with a BACKEND."
        )
    backend = import_string(options["BACKEND"])
    if not (isinstance(backend, type) and issubclass(backend, BaseProvider)):
        raise ImproperlyConfigured(
            f"{SETTINGS_NAME}['PROVIDERS'][{name!r}]['BACKEND'] is not a subclass of "
            "django_voiceotp.providers.base.BaseProvider."
        )
    return backend(name, options)


def _forget_providers(*, setting: str, **kwargs: Any) -> None:
    if setting == SETTINGS_NAME:
        with _providers_lock:
            _providers.clear()


setting_changed.connect(_forget_providers)
