"""Deprecated: what this module held now lives in modules named for it (docs/architecture.rst).

``sending`` (send_otp, call_again, the send), ``claims`` (reading and claiming calls),
``results`` (applying reports, polls), ``transitions`` (the guarded move and its signals),
``sweeping`` (the sweeper's queries), ``callback_urls`` (callback URLs and tokens), and
``dispatch`` (handing work to the queue). Each old name still works from here, with a
DeprecationWarning naming its new place.
"""

from __future__ import annotations

import warnings
from importlib import import_module
from typing import Any

#: Old name: (module, new name).
MOVED = {
    "send_otp": ("sending", "send_otp"),
    "call_again": ("sending", "call_again"),
    "resolve_campaign": ("sending", "resolve_campaign"),
    "send_call": ("sending", "send_call"),
    "retry_delay": ("sending", "retry_delay"),
    "read_call": ("claims", "read_call"),
    "send_lease": ("claims", "send_lease"),
    "_claim_and_read": ("claims", "claim_and_read"),
    "_claim_send": ("claims", "claim_send"),
    "_read_campaign": ("claims", "read_campaign"),
    "_expire": ("sweeping", "expire"),
    "apply_report": ("results", "apply_report"),
    "failure_code_for_status": ("results", "failure_code_for_status"),
    "note_early_report": ("results", "note_early_report"),
    "apply_early_report": ("results", "apply_early_report"),
    "plausible_start": ("results", "plausible_start"),
    "poll_call": ("results", "poll_call"),
    "START_TIME_TOLERANCE": ("results", "START_TIME_TOLERANCE"),
    "SWEEP_BATCH": ("sweeping", "SWEEP_BATCH"),
    "expire_stale_calls": ("sweeping", "expire_stale_calls"),
    "stale_calls": ("sweeping", "stale_calls"),
    "calls_due_for_send": ("sweeping", "calls_due_for_send"),
    "calls_due_for_poll": ("sweeping", "calls_due_for_poll"),
    "calls_waiting": ("sweeping", "calls_waiting"),
    "CALLBACK_TOKEN_SALT": ("callback_urls", "CALLBACK_TOKEN_SALT"),
    "callback_url_for": ("callback_urls", "callback_url_for"),
    "callback_token_for": ("callback_urls", "callback_token_for"),
    "call_id_from_callback_token": ("callback_urls", "call_id_from_callback_token"),
    "callback_token_max_age": ("callback_urls", "callback_token_max_age"),
}


def __getattr__(name: str) -> Any:
    if name == "enqueue_send":
        warnings.warn(
            "django_voiceotp.services.enqueue_send is deprecated; the queue is reached through "
            'django_voiceotp.dispatch: dispatch.enqueue("send_call", call_id).',
            DeprecationWarning,
            stacklevel=2,
        )
        from .dispatch import enqueue  # noqa: PLC0415 - only for the deprecated name

        return lambda call_id: enqueue("send_call", call_id)
    if name not in MOVED:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    module, new_name = MOVED[name]
    warnings.warn(
        f"django_voiceotp.services.{name} is deprecated; use django_voiceotp.{module}.{new_name}.",
        DeprecationWarning,
        stacklevel=2,
    )
    return getattr(import_module(f"django_voiceotp.{module}"), new_name)
