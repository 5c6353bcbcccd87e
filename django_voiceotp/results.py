"""Applying a call's result: the provider's report, by callback or by poll, and the polls."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.utils import timezone

from .claims import read_call, send_lease
from .conf import voiceotp_settings
from .exceptions import ProviderError
from .models import Call, CallbackEvent, failure_reason
from .payloads import loggable
from .provider_reports import CallOutcome, CallReport, InvalidReport
from .providers import DEFAULT_PROVIDER, get_provider
from .transitions import fail, finish

logger = logging.getLogger("django_voiceotp")

#: How far a reported start_time may lie from the call's life (creation to now): the provider's
#: clock and time zone may be off by hours, not by days.
START_TIME_TOLERANCE = timedelta(days=1)
#: How many early reports of a call are read for the one naming its id: a provider posts one or
#: two before its answer; a flood of them is not read to its end.
EARLY_REPORTS_READ = 20


def apply_report(call: Call, report: CallReport) -> bool:
    """Apply a provider report, by callback or poll, to ``call``. True when it made the call final.

    The only path to a final status: duplicated, late or racing reports change nothing.
    """
    if not report.is_final:
        return False
    # parse_report made the values fit their columns; only the start time needs the call.
    fields = {
        "raw_status": report.raw_status,
        "duration": report.duration,
        "started_at": plausible_start(call, report.started_at),
    }
    if call.provider_call_id is None:
        fields["provider_call_id"] = report.call_id
    if report.outcome is CallOutcome.SUCCESS:
        return finish(call, Call.Status.SUCCESS, **fields)
    code = failure_code_for_status(report.raw_status, call.provider)
    return finish(
        call,
        Call.Status.FAILED,
        failure_code=code,
        failure_reason=failure_reason(code, report.raw_status),
        **fields,
    )


def failure_code_for_status(raw_status: str, provider: str = DEFAULT_PROVIDER) -> str:
    """The failure code of a failed status the provider reported: "not reached" for the
    statuses the provider's backend names as such (for Pitel, those PROVIDER-NOTES lists;
    whatever REDIAL_STATUSES redials), else a failure."""
    if get_provider(provider).is_not_reached(raw_status):
        return Call.FailureCode.NOT_REACHED
    return Call.FailureCode.PROVIDER_FAILED


def note_early_report(call: Call) -> bool:
    """Mark a pending call whose callback brought a final report before the provider's answer
    (the callback door keeps it unapplied): ``next_poll_at`` is empty until a call is sent, so the
    send's move to ``sent``, guarded on it, fails and looks for the report (``sending._mark_sent``).
    False when the call is no longer pending: the send stored the provider's answer meanwhile."""
    pending = Call.objects.filter(pk=call.pk, status=Call.Status.PENDING)
    return bool(pending.update(next_poll_at=timezone.now()))


def apply_early_report(call: Call, provider_call_id: str | None) -> bool:
    """Apply the result a callback brought before the provider accepted ``call`` (the callback door
    keeps it unapplied). True when it made the call final; its event then says so.

    With the provider's answer, only a report that names its ``provider_call_id``. Without it
    (``None``: the answer to an earlier attempt was lost), the first report kept: the token
    reaches nobody but the provider before the provider has used it, so the first report is the
    provider's. A report stored after this look-up is not seen here: polling brings that result.
    """
    found = _early_report(call, provider_call_id)
    if found is None:
        return False
    event_id, report = found
    # The provider's id is not stored yet: stored with the result, as for any early report.
    call.provider_call_id = None
    if not apply_report(call, report):
        call.provider_call_id = provider_call_id
        return False
    CallbackEvent.objects.filter(pk=event_id).update(
        verdict=CallbackEvent.Verdict.APPLIED, reason=CallbackEvent.Reason.APPLIED
    )
    return True


def _early_report(call: Call, provider_call_id: str | None) -> tuple[int, CallReport] | None:
    """The event and report of the early report :func:`apply_early_report` applies, if any."""
    kept = CallbackEvent.objects.filter(call=call, verdict=CallbackEvent.Verdict.EARLY)
    early = kept.order_by("received_at", "pk").values_list("pk", "payload")
    provider = get_provider(call.provider)
    for event_id, payload in early[: 1 if provider_call_id is None else EARLY_REPORTS_READ]:
        try:
            # The call's provider reads the id where its format keeps it (Pitel's "call_id",
            # another provider's own key): never one provider's key for all.
            report = provider.parse_webhook(payload)
        except InvalidReport:  # stored as received, made storable: no longer a valid report
            continue
        if provider_call_id is None or report.call_id == provider_call_id:
            return event_id, report
    return None


def plausible_start(call: Call, started_at: datetime | None) -> datetime | None:
    """``started_at`` if it lies within the call's life, give or take a day; else unknown."""
    if started_at is None:
        return None
    earliest = call.created_at - START_TIME_TOLERANCE
    latest = timezone.now() + START_TIME_TOLERANCE
    if earliest <= started_at <= latest:
        return started_at
    logger.warning(
        "Call %s: start_time %s is implausible; stored as unknown.",
        call.pk,
        loggable(started_at.isoformat()),
    )
    return None


def poll_call(call_id: int, *, force: bool = False) -> None:
    """Ask the provider for the result of a sent call, following ``POLL_SCHEDULE``.

    The schedule is real time elapsed since sending, so an early or duplicated run does nothing
    and eager mode neither loops nor gives up early. ``force`` polls now, whatever the schedule.
    """
    call = read_call(call_id)
    if call is None or call.status != Call.Status.SENT:
        return None
    now = timezone.now()
    if not force and call.next_poll_at and call.next_poll_at > now:
        return None
    # Claim this poll, so the sweeper and a scheduled task do not both ask the provider.
    lease_until = now + timedelta(seconds=send_lease())
    claimed = Call.objects.filter(
        pk=call.pk, status=Call.Status.SENT, next_poll_at=call.next_poll_at
    ).update(next_poll_at=lease_until, poll_count=call.poll_count + 1)
    if not claimed:
        return None

    assert call.provider_call_id is not None  # a sent call has the provider's id
    provider = get_provider(call.provider)
    if provider.supports_polling:
        try:
            report = provider.get_report(call.provider_call_id)
        except ProviderError as err:
            logger.warning("Call %s: could not get its report (%s).", call.pk, loggable(err))
        else:
            if apply_report(call, report) or call.is_final:
                return None

    elapsed = (now - call.sent_at).total_seconds() if call.sent_at else float("inf")
    later = [point for point in voiceotp_settings.POLL_SCHEDULE if point > elapsed]
    if not later:
        fail(call, Call.FailureCode.TIMEOUT)
        return None
    assert call.sent_at is not None  # without it, elapsed is infinite: failed above
    # The sweeper brings the next poll when it is due (by the index on next_poll_at).
    next_poll_at = call.sent_at + timedelta(seconds=later[0])
    Call.objects.filter(pk=call.pk, status=Call.Status.SENT).update(next_poll_at=next_poll_at)
    return None
