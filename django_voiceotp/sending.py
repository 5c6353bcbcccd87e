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

from . import breaker, delivery, dispatch, limits
from .callback_urls import callback_url_for
from .claims import claim_and_read, claim_send, read_call, read_campaign, send_lease
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
from .phone import ProviderNumber, normalize_phone_number, validate_otp
from .providers import StartedCall, default_provider_name, get_provider
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
    dispatch.enqueue_on_commit("send_call", call.pk)
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
        resolved = read_campaign(str(campaign_id)) or _create_campaign(str(campaign_id))
    if not resolved.is_active:
        raise CampaignUnavailable(f"The campaign {resolved.campaign_id} is inactive.")
    return resolved


def _create_campaign(campaign_id: str, provider: str | None = None) -> Campaign:
    # get_or_create: another process may create it between our read and this insert.
    campaign, _ = Campaign.objects.get_or_create(
        campaign_id=campaign_id,
        defaults={"name": campaign_id, "provider": provider or default_provider_name()},
    )
    return campaign


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

    if limits.sending_paused():
        # The kill switch stops every call at once, those already waiting to be placed too.
        fail(call, Call.FailureCode.PAUSED)
        return None
    if call.send_attempts > 1 and apply_early_report(call, None):
        # An earlier attempt's answer was lost, but the provider reported the call it placed:
        # placing it again would call the person twice.
        return None
    try:
        started = _place(call)
    except PasscodeUnreadable:
        # SECRET_KEY changed without the old one in SECRET_KEY_FALLBACKS: no call can read it.
        fail(call, Call.FailureCode.PASSCODE_UNREADABLE)
        return None
    except _CallMoved:
        return None  # another attempt holds the call now
    except ProviderUnavailable as err:
        if call.send_attempts > voiceotp_settings.SEND_MAX_RETRIES:
            fail(call, Call.FailureCode.PROVIDER_UNAVAILABLE, str(err))
            return None
        delay = retry_delay(call.send_attempts)
        Call.objects.filter(pk=call.pk, status=Call.Status.PENDING).update(
            next_attempt_at=timezone.now() + timedelta(seconds=delay)
        )
        logger.warning(
            "Call %s: provider unavailable (%s); attempt %s, retrying in %.0f s.",
            call.pk,
            loggable(err),
            call.send_attempts,
            delay,
        )
        return delay
    except (ProviderRejected, InvalidPhoneNumber, InvalidOTP) as err:
        fail(call, Call.FailureCode.REJECTED, str(err))
        return None

    _mark_sent(call, started)
    return None


class _CallMoved(Exception):
    """The claimed call changed under this attempt (another attempt took it): place nothing."""


def failover_order(provider: str) -> list[str]:
    """The providers a call of ``provider`` may be placed at, in turn: its own, then those after
    it in ``FAILOVER`` (all of ``FAILOVER`` when it is not among them)."""
    order = list(voiceotp_settings.FAILOVER or ())
    after = order[order.index(provider) + 1 :] if provider in order else order
    return [provider] + [name for name in after if name != provider]


def _place(call: Call) -> StartedCall:
    """Place the claimed call at its provider, or at the next of ``FAILOVER`` when one cannot
    place it: its breaker is open, or it failed in a way that proves it placed nothing.

    Each move is one guarded update of the same row (provider, campaign, a fresh lease), made
    only while this attempt still holds the claim: a call is never in two attempts' hands, and
    one the provider may have placed (a timeout after the request was sent) stays where it is,
    for that provider's retries, so the person is never called twice.
    """
    order = failover_order(call.provider)
    last = order[-1]
    for name in order:
        # The last is tried whatever its breaker says: the call has nowhere else to go (and
        # with one provider, the breaker changes nothing of how its calls are sent).
        if name != last and not breaker.allows(name):
            logger.info("Call %s: the circuit breaker of %s is open; skipped.", call.pk, name)
            continue
        if name != call.provider:
            try:
                _move(call, name)
            except ProviderUnavailable:
                if name == last:
                    raise
                logger.warning("Call %s: provider %s has no DEFAULT_CAMPAIGN.", call.pk, name)
                continue
        try:
            started = get_provider(name).start_call(
                call.campaign.campaign_id,
                ProviderNumber(call.phone_number),  # normalised by send_otp: not parsed again
                open_otp(call.otp),
                callback_url=callback_url_for(call),
            )
        except ProviderUnavailable as err:
            breaker.failed(name)
            if not err.placed_nothing or name == last:
                raise
            logger.warning(
                "Call %s: provider %s placed nothing (%s); failing over.",
                call.pk,
                name,
                loggable(err),
            )
            continue
        except ProviderRejected:
            breaker.succeeded(name)  # it answered: available, though it refused this call
            raise
        breaker.succeeded(name)
        return started
    raise AssertionError("unreachable: the last provider is always tried")


def _move(call: Call, provider: str) -> None:
    """Give the claimed call to ``provider``, with that provider's campaign: the call's own if it
    belongs to it, else the provider's ``DEFAULT_CAMPAIGN``."""
    campaign = call.campaign
    if campaign.provider != provider:
        campaign_id = get_provider(provider).option("DEFAULT_CAMPAIGN")
        if not campaign_id:
            raise ProviderUnavailable(
                f"Provider {provider} has no DEFAULT_CAMPAIGN to place the call in.",
                placed_nothing=True,
            )
        campaign = read_campaign(str(campaign_id)) or _create_campaign(str(campaign_id), provider)
    lease_until = timezone.now() + timedelta(seconds=send_lease())
    moved = Call.objects.filter(
        pk=call.pk, status=Call.Status.PENDING, send_attempts=call.send_attempts
    ).update(provider=provider, campaign=campaign, next_attempt_at=lease_until)
    if not moved:
        raise _CallMoved
    call.provider, call.campaign, call.next_attempt_at = provider, campaign, lease_until


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
