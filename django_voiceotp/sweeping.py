"""What the sweeper looks for: calls to send, to poll, and too old to send."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db.models import Q
from django.utils import timezone

from .conf import voiceotp_settings
from .models import Call, failure_reason
from .transitions import transition

#: Calls handled by one run of the sweeper, so a backlog is worked off in bounded steps.
SWEEP_BATCH = 500


def expire_stale_calls(now: datetime | None = None) -> int:
    """Fail pending calls whose passcode is too old to be of use. Returns how many.

    A call whose send attempt is in flight (its lease not over) is left to that attempt: failing
    it now could announce "expired" for a call the provider is placing at this moment.
    """
    stale = stale_calls(now).select_related("campaign").order_by("created_at")[:SWEEP_BATCH]
    return sum(expire(call) for call in stale)


def stale_calls(now: datetime | None = None):
    """Pending calls too old to send, and not held by a send attempt in flight."""
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=voiceotp_settings.OTP_MAX_AGE)
    not_in_flight = (
        Q(send_attempts=0) | Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)
    )
    return Call.objects.filter(not_in_flight, status=Call.Status.PENDING, created_at__lt=cutoff)


def expire(call: Call) -> bool:
    """Fail a pending call as ``expired``, unless a send attempt has claimed it since it was read:
    the guard on ``send_attempts`` makes the check and the change one atomic step."""
    return transition(
        call,
        Call.Status.FAILED,
        guard={"send_attempts": call.send_attempts},
        otp="",
        finished_at=timezone.now(),
        next_poll_at=None,
        next_attempt_at=None,
        failure_code=Call.FailureCode.EXPIRED,
        failure_reason=failure_reason(Call.FailureCode.EXPIRED),
    )


def calls_due_for_send(now: datetime | None = None) -> list[int]:
    due = Call.objects.due_for_send(now).order_by("next_attempt_at")
    return list(due.values_list("pk", flat=True)[:SWEEP_BATCH])


def calls_waiting() -> dict[str, int]:
    """How many calls wait to be placed (pending) and for a result (sent): counted on the
    (status, time) indexes, for the metrics the sweeper refreshes."""
    return {
        "pending": Call.objects.filter(status=Call.Status.PENDING).count(),
        "sent": Call.objects.filter(status=Call.Status.SENT).count(),
    }


def calls_due_for_poll(now: datetime | None = None) -> list[int]:
    due = Call.objects.due_for_poll(now).order_by("next_poll_at")
    return list(due.values_list("pk", flat=True)[:SWEEP_BATCH])
