"""The app holding VoiceCallDevice, apart from the core so that it does not need django-otp."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class VoiceOTPDeviceConfig(AppConfig):
    name = "django_voiceotp.contrib.otp"
    label = "voiceotp_otp"
    verbose_name = _("Voice OTP devices")
    default_auto_field = "django.db.models.BigAutoField"
