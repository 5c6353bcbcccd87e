"""System checks of the django-allauth integration's set-up."""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.conf import settings
from django.core import checks
from django.utils.module_loading import import_string

APP = "django_voiceotp.contrib.allauth"


def check_app_order(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """Its templates are found first only when it comes before allauth."""
    # The registry's order is INSTALLED_APPS's, whether an entry names a module or an AppConfig.
    installed = [config.name for config in apps.get_app_configs()]
    if "allauth" in installed and installed.index(APP) > installed.index("allauth"):
        return [
            checks.Warning(
                f"'{APP}' comes after 'allauth' in INSTALLED_APPS: allauth's pages will say a "
                "code has been sent while the phone rings.",
                hint=f"Put '{APP}' before 'allauth'.",
                id="voiceotp_allauth.W001",
            )
        ]
    return []


def check_adapter(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """The app is installed for allauth's phone codes: the adapter must be the one that calls."""
    from .adapter import VoiceCallAdapterMixin

    path = getattr(settings, "ACCOUNT_ADAPTER", "allauth.account.adapter.DefaultAccountAdapter")
    try:
        adapter = import_string(path)
    except Exception:  # noqa: BLE001  (a bad path is allauth's to report, when it loads it)
        return []
    if isinstance(adapter, type) and issubclass(adapter, VoiceCallAdapterMixin):
        return []
    return [
        checks.Warning(
            f"ACCOUNT_ADAPTER ({path!r}) does not place calls: allauth's phone codes will not "
            "be read out.",
            hint=(
                "Set ACCOUNT_ADAPTER to "
                "'django_voiceotp.contrib.allauth.adapter.VoiceOTPAccountAdapter', or put "
                "VoiceCallAdapterMixin first among your adapter's bases."
            ),
            id="voiceotp_allauth.W002",
        )
    ]
