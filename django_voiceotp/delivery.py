"""The delivery policy: what follows a failed call (a redial, the fallback, or the end)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from django.db import transaction
from django.utils import timezone

from .conf import voiceotp_settings
from .models import Call

logger = logging.getLogger("django_voiceotp")

#: The provider's "not reached" statuses in every spelling PROVIDER-NOTES.md lists (point 14):
#: nobody answered, the line was busy, the phone was off or out of reach. A redial can help there.
NOT_REACHED_STATUSES = (
    "NOANWSER",
    "NOANSWER",
    "no-answered",
    "no_answered",
    "BUSY",
    "busy_line",
    "not-available",
    "not_available",
)


@dataclass
class AfterFailure:
    """What follows a failure, decided before the call is failed and carried out only by the
    process whose guarded transition failed it: so once, whoever else reports the same result."""

    #: Seconds until the redial, or None when no redial follows.
    redial_in: float | None = None
    #: Written with the move to ``failed``: the passcode is erased unless something still needs it.
    fields: dict[str, Any] = field(default_factory=dict)


def after_failure(call: Call, raw_status: str, now: datetime | None = None) -> AfterFailure:
    """Decide what follows the failure of ``call`` with the provider's ``raw_status``."""
    now = now or timezone.now()
    delay = float(voiceotp_settings.REDIAL_DELAY)
    redial_at = now + timedelta(seconds=delay)
    if call.otp and is_redialable(call, raw_status) and passcode_valid(call, redial_at):
        # The redial carries its own copy of the sealed passcode: this call's can go.
        return AfterFailure(redial_in=delay, fields={"otp": ""})
    return AfterFailure(fields={"otp": ""})


def is_redialable(call: Call, raw_status: str) -> bool:
    """A "not reached" status, and redials left: at most REDIAL_MAX per delivery."""
    if call.attempt > voiceotp_settings.REDIAL_MAX:
        return False
    configured = voiceotp_settings.REDIAL_STATUSES
    statuses = {status.casefold() for status in configured or NOT_REACHED_STATUSES}
    return raw_status.casefold() in statuses


def passcode_valid(call: Call, at: datetime) -> bool:
    """Whether the call's passcode is still younger than OTP_MAX_AGE at ``at``.

    Every call of a delivery keeps the ``created_at`` of its first: the passcode's age.
    """
    return at < call.created_at + timedelta(seconds=voiceotp_settings.OTP_MAX_AGE)


def carry_out(call: Call, plan: AfterFailure, sealed_otp: str) -> None:
    """Do what ``plan`` says, in the transaction that failed ``call``."""
    if plan.redial_in is not None:
        _place_redial(call, plan.redial_in, sealed_otp)


def _place_redial(call: Call, delay: float, sealed_otp: str) -> Call:
    now = timezone.now()
    # A new pending call, due after the delay: the sweeper sends it when due if its task is lost.
    redial = Call.objects.create(
        campaign=call.campaign,
        phone_number=call.phone_number,
        otp=sealed_otp,
        redial_of=call,
        attempt=call.attempt + 1,
        created_at=call.created_at,
        next_attempt_at=now + timedelta(seconds=delay),
    )
    logger.info(
        "Call %s will be placed again as call %s in %.0f s (attempt %s).",
        call.pk,
        redial.pk,
        delay,
        redial.attempt,
        extra={"call_id": call.pk, "redial_id": redial.pk, "event": "redial"},
    )
    transaction.on_commit(partial(_enqueue_redial, redial.pk, delay))
    return redial


def _enqueue_redial(call_id: int, delay: float) -> None:
    from .tasks import send_call, send_redial

    if send_call.app.conf.task_always_eager:
        # Eager mode would run it now, not after the delay: the sweeper sends it when due.
        return
    try:
        send_redial.apply_async((call_id,), countdown=delay)
    except Exception:  # noqa: BLE001 - the broker may be down; the sweeper sends it when due
        logger.warning("Could not enqueue the redial %s; the sweeper will send it.", call_id)


def redial_is_due(call_id: int, now: datetime | None = None) -> bool:
    """Whether the pending redial ``call_id`` may be sent now (an early task must wait)."""
    due_at = (
        Call.objects.filter(pk=call_id, status=Call.Status.PENDING)
        .values_list("next_attempt_at", flat=True)
        .first()
    )
    return due_at is not None and due_at <= (now or timezone.now())


def redial_after(call: Call) -> Call | None:
    """The redial this process placed after failing ``call``, without asking the database:
    only the process that failed a call places its redial and announces the failure."""
    redial = Call._meta.get_field("redial").get_cached_value(call, default=None)
    return redial if isinstance(redial, Call) else None


def erase_stale_passcodes(now: datetime | None = None) -> int:
    """Erase every passcode older than OTP_MAX_AGE, whatever its call's status. Returns how many."""
    cutoff = (now or timezone.now()) - timedelta(seconds=voiceotp_settings.OTP_MAX_AGE)
    return Call.objects.filter(created_at__lt=cutoff).exclude(otp="").update(otp="")
