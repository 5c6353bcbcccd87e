"""send_otp and the send: storing a call, placing it with the provider once, and calling again."""

from __future__ import annotations

import logging
import random
from datetime import timedelta
from typing import Any

from django.db.models import F, Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext

from . import delivery, dispatch, limits, placing
from .campaigns import campaign_for
from .claims import claim_and_read, claim_send, mark_sent, read_call
from .conf import voiceotp_settings
from .db import write_transaction
from .exceptions import (
    CallAgainRefused,
    CampaignUnavailable,
    InvalidOTP,
    InvalidPhoneNumber,
    ProviderRejected,
    ProviderUnavailable,
    RateLimited,
)
from .models import Call, Campaign, failure_reason
from .payloads import loggable
from .phone import normalize_phone_number, validate_otp
from .providers import StartedCall, get_provider
from .results import apply_early_report
from .sealing import PasscodeUnreadable, open_otp, seal_otp
from .sweeping import expire
from .transitions import announce, fail, log_call, transition

logger = logging.getLogger("django_voiceotp")


def send_otp(phone_number: str, otp: str, *, campaign: Campaign | str | None = None) -> Call:
    """Store a call for ``phone_number`` reading ``otp``; it is placed once the transaction commits.

    :param phone_number: any common spelling; normalised as the provider wants it. The number
        the admission gate hands back (``limits.admit``) is already in that form and is used as
        it is, not parsed again.
    :param otp: the passcode, a string of digits.
    :param campaign: a :class:`Campaign`, a provider campaign id, or None for ``DEFAULT_CAMPAIGN``.
    :raises InvalidPhoneNumber, InvalidOTP, CampaignUnavailable: before anything is stored.
    """
    if not isinstance(phone_number, limits.AllowedNumber):
        phone_number = normalize_phone_number(phone_number)
    otp = validate_otp(otp)
    campaign = resolve_campaign(campaign)
    now = timezone.now()
    call = Call.objects.create(
        campaign=campaign,
        provider=campaign.provider,
        phone_number=phone_number,
        otp=seal_otp(otp),
        created_at=now,
        # If the send task is lost on its way, the sweeper sends the call from then on.
        next_attempt_at=now + timedelta(seconds=voiceotp_settings.PENDING_GRACE),
    )
    # Inside limits.admit: its redials and fallback are counted against the same client.
    limits.remember_admission(call.pk)
    log_call(call, "created")
    dispatch.send_on_commit(call.pk)
    return call


def call_again(call: Call) -> Call:
    """Place ``call`` once more, as a new call reading the same passcode; the old one fails.

    Possible only while the call is pending (a sent call's delivery goes on by its own redials
    and fallback) with its passcode stored and younger than ``OTP_MAX_AGE``: a new passcode
    needs the host project. The old call fails with reason ``replaced by call N``, so the
    sweeper cannot send it as well.

    The new call costs what a redial costs, and is counted as one: against the number, the site
    and the client that asked for the code (``limits.consume_follow_up``).

    :raises CallAgainRefused: saying why, in the active language (an operator reads it).
    """
    call.refresh_from_db()
    if not call.otp:
        raise CallAgainRefused(
            gettext(
                "its passcode is no longer stored (it is erased when the delivery ends); the "
                "person must ask for a new code."
            )
        )
    if call.created_at < timezone.now() - timedelta(seconds=voiceotp_settings.OTP_MAX_AGE):
        raise CallAgainRefused(gettext("its passcode is too old to be of use."))
    payer = delivery.payer_for(call)
    try:
        # Counted first, and given back if the new call is not placed after all.
        with limits.consume_follow_up(
            call.phone_number, client_ip=payer.client_ip, owner=payer.owner
        ):
            new_call = _replace(call, payer)
    except RateLimited as err:
        raise CallAgainRefused(
            gettext("a spending limit was reached (%(limit)s); try again in %(seconds)d s.")
            % {"limit": err.limit, "seconds": err.retry_after}
        ) from None
    return new_call


def _replace(call: Call, payer: limits.Payer) -> Call:
    """A new call reading ``call``'s passcode, and ``call`` failed as replaced by it."""
    with write_transaction():
        try:
            otp = open_otp(call.otp)
        except PasscodeUnreadable:
            raise CallAgainRefused(
                gettext("its passcode can no longer be read; the person must ask for a new code.")
            ) from None
        new_call = send_otp(call.phone_number, otp, campaign=call.campaign)
        limits.record_payer(new_call.pk, payer)
        now = timezone.now()
        replaced = {
            "status": Call.Status.FAILED,
            "failure_code": Call.FailureCode.REPLACED,
            "failure_reason": failure_reason(Call.FailureCode.REPLACED, str(new_call.pk)),
            "otp": "",
            "finished_at": now,
            "next_attempt_at": None,
            "updated_at": now,
        }
        # Only from pending (not fail, which also fails a sent call): if the provider accepted
        # the old call meanwhile, raising rolls the new one back, unsent.
        # A send attempt that claimed the old call since it was read wins: the provider may be
        # placing it (a claim taken before the read is not seen: docs/operations.rst says so).
        unchanged = {"status": Call.Status.PENDING, "send_attempts": call.send_attempts}
        if not Call.objects.filter(pk=call.pk, **unchanged).update(**replaced):
            raise CallAgainRefused(gettext("it was sent to the provider meanwhile."))
        for name, value in replaced.items():
            setattr(call, name, value)
        announce(call, Call.Status.PENDING, Call.Status.FAILED)
    return new_call


def resolve_campaign(campaign: Campaign | str | None) -> Campaign:
    if isinstance(campaign, Campaign):
        if campaign.pk is None:
            raise CampaignUnavailable("The campaign is not saved.")
        resolved = campaign
    else:
        # The default provider's (the flat DEFAULT_CAMPAIGN without PROVIDERS).
        campaign_id = campaign or get_provider().option("DEFAULT_CAMPAIGN")
        if not campaign_id:
            raise CampaignUnavailable(
                "No campaign given and VOICEOTP['DEFAULT_CAMPAIGN'] is not set."
            )
        resolved = campaign_for(str(campaign_id))
    if not resolved.is_active:
        raise CampaignUnavailable(f"The campaign {resolved.campaign_id} is inactive.")
    return resolved


def send_call(call_id: int) -> float | None:
    """Place the call with the provider, once, however many times this runs at once.

    Two statements when all goes well: the claim, which reads the call back, and the move to
    ``sent`` (which stores the provider's id and the time of the first poll: the sweeper brings
    it). Returns the seconds until a retry when the provider is unavailable, else None.
    """
    now = timezone.now()
    call = claim_and_read(call_id, now)
    if call is None:
        # Not claimable as it stands (or no UPDATE … RETURNING here): read it to see why.
        call = read_call(call_id)
        if call is None or call.status != Call.Status.PENDING:
            return None
        if call.send_attempts and call.next_attempt_at and call.next_attempt_at > now:
            # Another attempt holds the call (its lease), or its retry is not due: not ours.
            return None
        if call.created_at < now - timedelta(seconds=voiceotp_settings.OTP_MAX_AGE):
            expire(call)
            return None
        if not claim_send(call, now):
            return None
    return send_claimed([call]).get(call.pk)


def send_claimed(calls: list[Call]) -> dict[int, float]:
    """Place calls this process has claimed (``claims``), concurrently when there are several,
    and record what became of each. Returns the seconds until a retry, by call id, of the calls
    whose provider was unavailable.

    The calls placed are moved to ``sent`` first, in one statement where the database allows:
    a callback that comes meanwhile then finds its call sent.
    """
    if limits.sending_paused():
        # The kill switch stops every call at once, those already waiting to be placed too.
        for call in calls:
            fail(call, Call.FailureCode.PAUSED)
        return {}
    # An earlier attempt's answer was lost, but the provider reported the call it placed:
    # placing it again would call the person twice.
    to_place = [
        call for call in calls if not (call.send_attempts > 1 and apply_early_report(call, None))
    ]
    outcomes = placing.place_all(to_place)
    placed = [(call, outcome) for call, outcome in outcomes if isinstance(outcome, StartedCall)]
    _mark_all_sent(placed)
    retries: dict[int, float] = {}
    unexpected: Exception | None = None
    for call, outcome in outcomes:
        if isinstance(outcome, StartedCall):
            continue
        try:
            delay = _settle(call, outcome)
        except Exception as err:  # noqa: BLE001 -- raised once every other call is settled
            unexpected = unexpected or err
            continue
        if delay is not None:
            retries[call.pk] = delay
    if unexpected is not None:
        # Not one of the failures above: the call's lease runs out and the sweeper sends it.
        raise unexpected
    return retries


def _settle(call: Call, error: Exception) -> float | None:
    """Record why ``call`` was not placed; the seconds until its retry, if it has one."""
    if isinstance(error, PasscodeUnreadable):
        # SECRET_KEY changed without the old one in SECRET_KEY_FALLBACKS: no call can read it.
        fail(call, Call.FailureCode.PASSCODE_UNREADABLE)
    elif isinstance(error, placing.CallMoved):
        pass  # another attempt holds the call now
    elif isinstance(error, ProviderUnavailable):
        if call.send_attempts > voiceotp_settings.SEND_MAX_RETRIES:
            fail(call, Call.FailureCode.PROVIDER_UNAVAILABLE, str(error))
            return None
        delay = retry_delay(call.send_attempts)
        Call.objects.filter(pk=call.pk, status=Call.Status.PENDING).update(
            next_attempt_at=timezone.now() + timedelta(seconds=delay)
        )
        logger.warning(
            "Call %s: provider unavailable (%s); attempt %s, retrying in %.0f s.",
            call.pk,
            loggable(error),
            call.send_attempts,
            delay,
        )
        return delay
    elif isinstance(error, (ProviderRejected, InvalidPhoneNumber, InvalidOTP)):
        fail(call, Call.FailureCode.REJECTED, str(error))
    else:
        raise error
    return None


def retry_delay(attempt: int) -> float:
    """Exponential backoff with jitter, so many failed sends do not come back all at once."""
    ceiling = min(
        voiceotp_settings.SEND_RETRY_BACKOFF_MAX,
        voiceotp_settings.SEND_RETRY_BACKOFF * 2 ** (attempt - 1),
    )
    return random.uniform(ceiling / 2, ceiling)


def _mark_sent(call: Call, started: StartedCall) -> None:
    """Move the call to ``sent`` in one statement, storing the provider's id.

    No poll task is scheduled: ``next_poll_at`` is indexed and the sweeper finds the calls whose
    poll is due. Most calls get their result by callback first, and then no poll runs at all.
    """
    now = timezone.now()
    schedule = voiceotp_settings.POLL_SCHEDULE
    first_poll = schedule[0] if schedule else 0
    # A callback may have come before the provider's answer: its report was kept unapplied and
    # the call marked (note_early_report), so the guarded move finds it, at no cost otherwise.
    provider_call_id = Coalesce(F("provider_call_id"), Value(started.call_id))
    sent: dict[str, Any] = {
        "provider_call_id": provider_call_id,
        "sent_at": now,
        "next_attempt_at": None,
        "next_poll_at": now + timedelta(seconds=first_poll),
    }
    call.provider_call_id = call.provider_call_id or started.call_id
    # The sealed passcode stays: a redial or the fallback may need it (erased when it ends).
    moved = transition(call, Call.Status.SENT, guard={"next_poll_at": None}, **sent)
    if not moved:
        if apply_early_report(call, started.call_id):
            return
        moved = transition(call, Call.Status.SENT, **sent)
    if not moved:
        Call.objects.filter(pk=call.pk).update(provider_call_id=provider_call_id)


def _mark_all_sent(placed: list[tuple[Call, StartedCall]]) -> None:
    """Move the placed calls to ``sent``: several in one statement where the database returns
    the rows an ``UPDATE`` changed, and each call the statement did not move (a callback came
    first) the way ``_mark_sent`` moves it."""
    if len(placed) < 2:
        for call, started in placed:
            _mark_sent(call, started)
        return
    now = timezone.now()
    schedule = voiceotp_settings.POLL_SCHEDULE
    next_poll_at = now + timedelta(seconds=schedule[0] if schedule else 0)
    moved = mark_sent([(call.pk, started.call_id) for call, started in placed], now, next_poll_at)
    if moved is None:  # no UPDATE … RETURNING here
        for call, started in placed:
            _mark_sent(call, started)
        return
    for call, started in placed:
        if call.pk not in moved:
            _mark_sent(call, started)
            continue
        call.status, call.updated_at, call.sent_at = Call.Status.SENT, now, now
        call.next_attempt_at, call.next_poll_at = None, next_poll_at
        call.provider_call_id = moved[call.pk]
        announce(call, Call.Status.PENDING, Call.Status.SENT)
