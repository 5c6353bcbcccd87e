"""Getting results back and reaching the person: the callback URLs, redials and the fallback."""

from __future__ import annotations

from django.conf import settings
from django.core.checks import Error, Tags, Warning, register
from django.urls import NoReverseMatch, reverse
from django.utils.module_loading import import_string

from ..conf import SETTINGS_NAME, voiceotp_settings
from ..exceptions import ImproperlyConfigured
from .settings import malformed, malformed_values, readable


@register(Tags.urls)
def check_callback_urls(app_configs=None, **kwargs):
    """With CALLBACK_BASE_URL set, the callback view must be reachable, or no result comes back."""
    try:
        if not voiceotp_settings.CALLBACK_BASE_URL:
            return []
    except ImproperlyConfigured:
        return []
    try:
        reverse("django_voiceotp:callback", kwargs={"token": "check"})
    except NoReverseMatch:
        return [
            Error(
                f"{SETTINGS_NAME}['CALLBACK_BASE_URL'] is set but django_voiceotp.urls is not "
                "included: the provider's callbacks have nowhere to go.",
                hint='Add path("voiceotp/", include("django_voiceotp.urls")) to your URLconf, '
                "or set CALLBACK_BASE_URL to None to rely on polling alone.",
                id="django_voiceotp.E007",
            )
        ]
    return []


@register(Tags.compatibility)
def check_delivery_settings(app_configs=None, **kwargs):
    """The redial settings' shapes, a FALLBACK_SENDER that cannot be imported, and the console
    sender outside development (it writes every passcode to standard output)."""
    from ..senders import CONSOLE_SENDER  # the models' module: not before the app is ready

    if not readable():
        return []
    messages = malformed_values("check_delivery_settings")
    sender = voiceotp_settings.FALLBACK_SENDER
    if not isinstance(sender, str):
        return messages  # None, or not a dotted path: E006 above
    try:
        target = import_string(sender)
    except Exception as err:  # ImportError, a relative path's TypeError, the module's own error
        messages.append(
            Error(
                f"{SETTINGS_NAME}['FALLBACK_SENDER'] cannot be imported: {err}",
                hint="Name a callable taking phone_number=, otp= and call=.",
                id="django_voiceotp.E020",
            )
        )
        return messages
    if not callable(target):
        messages.append(malformed("FALLBACK_SENDER", "the dotted path of a callable"))
    if sender == CONSOLE_SENDER and not settings.DEBUG:
        messages.append(
            Warning(
                "FALLBACK_SENDER is the console sender with DEBUG off: passcodes are written to "
                "standard output instead of reaching anyone.",
                hint="Write a sender for your SMS provider (see "
                "https://django-voiceotp.readthedocs.io/en/latest/delivery.html#reaching-the-person).",
                id="django_voiceotp.W020",
            )
        )
    return messages
