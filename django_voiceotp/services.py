"""Deprecated: what this module held now lives in modules named for it (docs/architecture.rst).

``sending`` (send_otp, call_again, the send), ``claims`` (reading and claiming calls),
``results`` (applying reports, polls), ``transitions`` (the guarded move and its signals),
``sweeping`` (the sweeper's queries), ``callback_urls`` (callback URLs and tokens), and
``dispatch`` (handing work to the queue). Each old name still works from here, with a
DeprecationWarning naming its new place.
"""

from __future__ import annotations

from .deprecation import moved_names

#: Each name this module held, and where it lives now.
MOVED = {
    "send_otp": "django_voiceotp.sending",
    "call_again": "django_voiceotp.sending",
    "resolve_campaign": "django_voiceotp.sending",
    "send_call": "django_voiceotp.sending",
    "retry_delay": "django_voiceotp.sending",
    "read_call": "django_voiceotp.claims",
    "send_lease": "django_voiceotp.claims",
    "_claim_and_read": "django_voiceotp.claims:claim_and_read",
    "_claim_send": "django_voiceotp.claims:claim_send",
    "_read_campaign": "django_voiceotp.claims:read_campaign",
    "_expire": "django_voiceotp.sweeping:expire",
    "apply_report": "django_voiceotp.results",
    "failure_code_for_status": "django_voiceotp.results",
    "note_early_report": "django_voiceotp.results",
    "apply_early_report": "django_voiceotp.results",
    "plausible_start": "django_voiceotp.results",
    "poll_call": "django_voiceotp.results",
    "START_TIME_TOLERANCE": "django_voiceotp.results",
    "SWEEP_BATCH": "django_voiceotp.sweeping",
    "expire_stale_calls": "django_voiceotp.sweeping",
    "stale_calls": "django_voiceotp.sweeping",
    "calls_due_for_send": "django_voiceotp.sweeping",
    "calls_due_for_poll": "django_voiceotp.sweeping",
    "calls_waiting": "django_voiceotp.sweeping",
    "CALLBACK_TOKEN_SALT": "django_voiceotp.callback_urls",
    "callback_url_for": "django_voiceotp.callback_urls",
    "callback_token_for": "django_voiceotp.callback_urls",
    "call_id_from_callback_token": "django_voiceotp.callback_urls",
    "callback_token_max_age": "django_voiceotp.callback_urls",
}

__getattr__ = moved_names(__name__, MOVED)
