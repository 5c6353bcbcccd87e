"""The delivery policy: what follows a failed call (a redial, the fallback, or the end)."""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.utils import timezone
from django.utils.module_loading import import_string

from . import dispatch, limits, metrics
from .conf import voiceotp_settings
from .exceptions import FallbackRejected, RateLimited
from .models import Call, Verification, failure_reason
from .providers import get_provider
from .sealing import PasscodeUnreadable, open_otp

logger = logging.getLogger("django_voiceotp")

#: Times a raising FALLBACK_SENDER is called for one delivery before it is given up.
FALLBACK_MAX_ATTEMPTS = 4
#: Seconds before the first retry of a raising sender; doubled each time, up to the maximum.
FALLBACK_RETRY_BACKOFF = 10
FALLBACK_RETRY_BACKOFF_MAX = 120


@dataclass
class AfterFailure:
    """What follows a failure, decided before the call is failed and carried out only by the
    process whose guarded transition failed it: so once, whoever else reports the same result."""

    #: Seconds until the redial, or None when no redial follows.
    redial_in: float | None = None
    #: Whether the passcode goes to FALLBACK_SENDER (then the call keeps it until it has gone).
    fallback: bool = False
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
    if voiceotp_settings.FALLBACK_SENDER and call.otp and passcode_valid(call, now):
        # The last attempt of the delivery failed, whatever the reason: the fallback's turn.
        fallback_fields = {"fallback_status": Call.FallbackStatus.PENDING, "fallback_next_at": now}
        return AfterFailure(fallback=True, fields=fallback_fields)
    return AfterFailure(fields={"otp": ""})


def is_redialable(call: Call, raw_status: str) -> bool:
    """A "not reached" status, and redials left: at most REDIAL_MAX per delivery.

    The statuses are REDIAL_STATUSES, else the "not reached" ones of the call's provider.
    """
    if call.attempt > voiceotp_settings.REDIAL_MAX:
        return False
    configured = voiceotp_settings.REDIAL_STATUSES
    not_reached = configured or get_provider(call.provider).not_reached_statuses
    statuses = {status.casefold() for status in not_reached}
    return raw_status.casefold() in statuses


def passcode_valid(call: Call, at: datetime) -> bool:
    """Whether the call's passcode is still younger than OTP_MAX_AGE at ``at``.

    Every call of a delivery keeps the ``created_at`` of its first: the passcode's age.
    """
    return at < call.created_at + timedelta(seconds=voiceotp_settings.OTP_MAX_AGE)


def carry_out(call: Call, plan: AfterFailure, sealed_otp: str) -> None:
    """Do what ``plan`` says, in the transaction that failed ``call``.

    A redial and a fallback message cost money as a first call does: each passes the limits
    first (counted now, by the one process that failed the call). One a limit refuses is not
    placed, and the delivery ends here with ``limits.SPENDING_LIMIT_REASON``.
    """
    if plan.redial_in is None and not plan.fallback:
        return
    payer = payer_for(call)
    kind = limits.CALL if plan.redial_in is not None else limits.FALLBACK
    try:
        with limits.consume_follow_up(
            call.phone_number, client_ip=payer.client_ip, owner=payer.owner, kind=kind
        ):
            if plan.redial_in is not None:
                _place_redial(call, plan.redial_in, sealed_otp, payer)
            else:
                dispatch.enqueue_on_commit("run_fallback", call.pk)
    except RateLimited as refusal:
        _end_delivery(call, refusal, kind)


def payer_for(call: Call) -> limits.Payer:
    """Whom the redials and fallback of ``call``'s code are counted against.

    They run on the queue, with no client to ask: they are counted against the number and the
    site, and against the client that asked for the code, as its admission recorded it. Not
    counting that client would let one address spend (1 + REDIAL_MAX) calls and a fallback
    message per code it is allowed. When the record is gone (a cache that forgot it), the
    client stored on the code's Verification is used, as a stranger: the owner's share is
    given only to a client proven to be the owner. A call placed by ``send_otp`` alone has no
    client: its follow-ups count against the number and the site only.
    """
    recorded = limits.recorded_payer(call.pk)
    if recorded is not None:
        return recorded
    first_id = call.pk
    previous_id = call.redial_of_id
    while previous_id is not None:  # at most REDIAL_MAX steps back to the delivery's first call
        first_id = previous_id
        previous_id = (
            Call.objects.filter(pk=previous_id).values_list("redial_of_id", flat=True).first()
        )
    client_ip = (
        Verification.objects.filter(call_id=first_id).values_list("client_ip", flat=True).first()
    )
    return limits.Payer(client_ip=client_ip, owner=False)


def _end_delivery(call: Call, refusal: RateLimited, kind: str) -> None:
    """End the delivery at ``call``, failed just now, since a limit refused what would follow:
    its reason says so, its passcode goes. Its signals, sent when the transaction commits,
    carry this reason and no redial."""
    code = Call.FailureCode.PAUSED if refusal.limit == "paused" else Call.FailureCode.LIMITED
    ended = {
        "failure_code": code,
        "failure_reason": failure_reason(code),
        "otp": "",
        "fallback_status": Call.FallbackStatus.NONE,
        "fallback_next_at": None,
    }
    Call.objects.filter(pk=call.pk).update(**ended)
    for name, value in ended.items():
        setattr(call, name, value)
    what = "placed again" if kind == limits.CALL else "handed to the fallback"
    logger.warning(
        "Call %s: not %s, the limit %s refused it (for %s s).",
        call.pk,
        what,
        refusal.limit,
        refusal.retry_after,
        extra={"call_id": call.pk, "event": "follow_up_refused", "limit": refusal.limit},
    )
    if kind == limits.FALLBACK:
        metrics.fallback("refused")


def _place_redial(call: Call, delay: float, sealed_otp: str, payer: limits.Payer) -> Call:
    now = timezone.now()
    # A new pending call, due after the delay: the sweeper sends it when due if its task is lost.
    redial = Call.objects.create(
        campaign=call.campaign,
        provider=call.provider,  # placed again where the delivery began
        phone_number=call.phone_number,
        otp=sealed_otp,
        redial_of=call,
        attempt=call.attempt + 1,
        created_at=call.created_at,
        next_attempt_at=now + timedelta(seconds=delay),
    )
    limits.record_payer(redial.pk, payer)  # its own redial or fallback is the same client's
    logger.info(
        "Call %s will be placed again as call %s in %.0f s (attempt %s).",
        call.pk,
        redial.pk,
        delay,
        redial.attempt,
        extra={"call_id": call.pk, "redial_id": redial.pk, "event": "redial"},
    )
    dispatch.enqueue_on_commit("send_redial", redial.pk, delay=delay)
    return redial


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


# -- the fallback --------------------------------------------------------------------------------


def run_fallback(call_id: int, now: datetime | None = None) -> float | None:
    """Hand the passcode of failed call ``call_id`` to FALLBACK_SENDER, at most once.

    Returns the seconds to wait before retrying a sender that raised, or None when done (sent,
    given up, expired, not due, or someone else's). A guarded claim makes a duplicated task,
    or the sweeper's copy, call nothing; a worker that dies while the sender runs leaves the
    fallback ``running``: never repeated, rather than perhaps sent twice.
    """
    now = now or timezone.now()
    call = Call.objects.filter(pk=call_id, fallback_status=Call.FallbackStatus.PENDING).first()
    if call is None or (call.fallback_next_at and call.fallback_next_at > now):
        return None
    pending = Call.objects.filter(
        pk=call.pk,
        fallback_status=Call.FallbackStatus.PENDING,
        fallback_attempts=call.fallback_attempts,
    )
    if limits.sending_paused():
        # Counted when the call failed; the kill switch stops it all the same.
        if pending.update(fallback_status=Call.FallbackStatus.FAILED, otp=""):
            logger.warning("Call %s: fallback not sent, sending is paused.", call.pk)
            metrics.fallback("refused")
        return None
    if not call.otp or not passcode_valid(call, now):
        if pending.update(fallback_status=Call.FallbackStatus.EXPIRED, otp=""):
            logger.info("Call %s: fallback not sent, the passcode is too old.", call.pk)
            metrics.fallback("expired")
        return None
    if not pending.update(
        fallback_status=Call.FallbackStatus.RUNNING, fallback_attempts=call.fallback_attempts + 1
    ):
        return None
    call.fallback_attempts += 1
    running = Call.objects.filter(pk=call.pk, fallback_status=Call.FallbackStatus.RUNNING)
    try:
        sender = import_string(voiceotp_settings.FALLBACK_SENDER)
        sender(phone_number=call.phone_number, otp=open_otp(call.otp), call=call)
    except PasscodeUnreadable:
        running.update(fallback_status=Call.FallbackStatus.FAILED, otp="")
        logger.error("Call %s: fallback not sent, the passcode cannot be opened.", call.pk)
        metrics.fallback("failed")
        return None
    except FallbackRejected as refusal:
        # Final: another attempt would be refused the same way (a wrong key, a bad number).
        running.update(fallback_status=Call.FallbackStatus.FAILED, otp="")
        metrics.fallback("failed")
        logger.error(
            "Call %s: FALLBACK_SENDER refused on attempt %s (%s); not retried.",
            call.pk,
            call.fallback_attempts,
            refusal.code or type(refusal).__name__,
        )
        return None
    except Exception as err:  # noqa: BLE001 - the host's sender: any other failure is retried
        # The class only: a message may repeat what the sender was given, the passcode too.
        reason = type(err).__name__
        if call.fallback_attempts >= FALLBACK_MAX_ATTEMPTS:
            running.update(fallback_status=Call.FallbackStatus.FAILED, otp="")
            metrics.fallback("failed")
            logger.error(
                "Call %s: FALLBACK_SENDER raised %s on attempt %s; given up.",
                call.pk,
                reason,
                call.fallback_attempts,
            )
            return None
        delay = fallback_retry_delay(call.fallback_attempts)
        running.update(
            fallback_status=Call.FallbackStatus.PENDING,
            fallback_next_at=timezone.now() + timedelta(seconds=delay),
        )
        logger.warning(
            "Call %s: FALLBACK_SENDER raised %s on attempt %s; retrying in %.0f s.",
            call.pk,
            reason,
            call.fallback_attempts,
            delay,
        )
        return delay
    # The delivery ends here: the passcode has gone by the other way.
    running.update(
        fallback_status=Call.FallbackStatus.SENT, fallback_sent_at=timezone.now(), otp=""
    )
    metrics.fallback("sent")
    logger.info(
        "Call %s: passcode handed to the fallback (phone %s).",
        call.pk,
        call.masked_phone_number,
        extra={"call_id": call.pk, "phone": call.masked_phone_number, "event": "fallback"},
    )
    return None


def fallback_retry_delay(attempt: int) -> float:
    """Exponential backoff with jitter, so many failing fallbacks do not come back at once."""
    ceiling = min(FALLBACK_RETRY_BACKOFF_MAX, FALLBACK_RETRY_BACKOFF * 2 ** (attempt - 1))
    return random.uniform(ceiling / 2, ceiling)


def fallback_due_now(call_id: int) -> bool:
    """Make a pending fallback's retry due now (eager mode); False if it is not pending."""
    pending = Call.objects.filter(pk=call_id, fallback_status=Call.FallbackStatus.PENDING)
    return bool(pending.update(fallback_next_at=timezone.now()))


def fallbacks_due(now: datetime | None = None) -> list[int]:
    """Pending fallbacks whose time has come, for the sweeper: a lost task, a retry due.

    Only calls still holding a passcode younger than OTP_MAX_AGE can have one: the partial index
    of such rows keeps this cheap whatever the size of the table.
    """
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=voiceotp_settings.OTP_MAX_AGE)
    due = Call.objects.filter(
        created_at__gte=cutoff,
        fallback_status=Call.FallbackStatus.PENDING,
        fallback_next_at__lte=now - timedelta(seconds=voiceotp_settings.PENDING_GRACE),
    ).exclude(otp="")
    return list(due.values_list("pk", flat=True)[:500])
