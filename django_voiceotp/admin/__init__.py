"""The Django admin: campaigns and their results, calls and their history, callback events,
verifications. Importing this package registers them; each lives in the module named for it.

Nothing here shows a passcode or a keypress: ``Call.otp`` is in no field, list or form, and
callback payloads are stored with the keypress already redacted.
"""

from __future__ import annotations

import warnings

from . import callback_events, calls, campaigns, display, mixins, sending
from .callback_events import CallbackEventAdmin
from .calls import CallAdmin
from .campaigns import CampaignAdmin
from .verifications import VerificationAdmin

__all__ = ["CallAdmin", "CallbackEventAdmin", "CampaignAdmin", "VerificationAdmin"]

#: Names this package held when it was one module, and the module each lives in now.
MOVED = {
    "RECENT_DAYS": campaigns,
    "SUMMARY_PERIODS": campaigns,
    "DEFAULT_SUMMARY_PERIOD": campaigns,
    "VoiceOTPMedia": display,
    "short_datetime": display,
    "provider_error_text": display,
    "badge_for_test_number": display,
    "RecordAdminMixin": mixins,
    "PhoneNumberSearchMixin": mixins,
    "CallbackEventInline": callback_events,
    "payload_html": callback_events,
    "RedialFilter": calls,
    "elapsed": calls,
    "Spending": sending,
    "read_spending": sending,
    "spending_messages": sending,
}


def __getattr__(name: str):
    if name not in MOVED:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    module = MOVED[name]
    warnings.warn(
        f"{__name__}.{name} is deprecated: import it from {module.__name__}.",
        DeprecationWarning,
        stacklevel=2,
    )
    return getattr(module, name)
