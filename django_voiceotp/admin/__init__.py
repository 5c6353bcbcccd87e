"""The Django admin: campaigns and their results, calls and their history, callback events,
verifications. Importing this package registers them; each lives in the module named for it.

Nothing here shows a passcode or a keypress: ``Call.otp`` is in no field, list or form, and
callback payloads are stored with the keypress already redacted.
"""

from __future__ import annotations

from ..deprecation import moved_names
from . import callback_events, calls, campaigns, sending, verifications  # noqa: F401 - they register
from .callback_events import CallbackEventAdmin
from .calls import CallAdmin
from .campaigns import CampaignAdmin
from .verifications import VerificationAdmin

__all__ = ["CallAdmin", "CallbackEventAdmin", "CampaignAdmin", "VerificationAdmin"]

#: Names this package held when it was one module, and the module each lives in now.
MOVED = {
    "RECENT_DAYS": "django_voiceotp.admin.campaigns",
    "SUMMARY_PERIODS": "django_voiceotp.admin.campaigns",
    "DEFAULT_SUMMARY_PERIOD": "django_voiceotp.admin.campaigns",
    "VoiceOTPMedia": "django_voiceotp.admin.display",
    "short_datetime": "django_voiceotp.admin.display",
    "provider_error_text": "django_voiceotp.admin.display",
    "badge_for_test_number": "django_voiceotp.admin.display",
    "RecordAdminMixin": "django_voiceotp.admin.mixins",
    "PhoneNumberSearchMixin": "django_voiceotp.admin.mixins",
    "CallbackEventInline": "django_voiceotp.admin.callback_events",
    "payload_html": "django_voiceotp.admin.callback_events",
    "RedialFilter": "django_voiceotp.admin.calls",
    "elapsed": "django_voiceotp.admin.calls",
    "Spending": "django_voiceotp.admin.sending",
    "read_spending": "django_voiceotp.admin.sending",
    "spending_messages": "django_voiceotp.admin.sending",
}


__getattr__ = moved_names(__name__, MOVED)
