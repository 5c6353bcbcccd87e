"""The Django application of the django-allauth integration: its phone-number table and pages."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class VoiceOTPAllauthConfig(AppConfig):
    name = "django_voiceotp.contrib.allauth"
    # Not "allauth": that label is django-allauth's own.
    label = "voiceotp_allauth"
    verbose_name = _("Phone numbers (django-allauth)")
    default_auto_field = "django.db.models.BigAutoField"
