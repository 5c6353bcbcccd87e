"""The Django application configuration."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class VoiceOTPConfig(AppConfig):
    name = "django_voiceotp"
    verbose_name = _("Voice OTP")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import (
            checks,  # noqa: F401  (registers the system checks)
            metrics,
        )

        if metrics.enabled():
            metrics.connect_receivers()
