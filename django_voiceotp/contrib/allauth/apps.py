"""The Django application of the django-allauth integration: its phone-number table and pages."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class VoiceOTPAllauthConfig(AppConfig):
    name = "django_voiceotp.contrib.allauth"
    # Not "allauth": that label is django-allauth's own.
    label = "voiceotp_allauth"
    verbose_name = _("Phone numbers (django-allauth)")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.core import checks

        from . import checks as allauth_checks

        checks.register(allauth_checks.check_app_order)
        checks.register(allauth_checks.check_adapter)
