"""send_otp and every state change of a call: the one place a call moves from status to status."""

from __future__ import annotations

import logging
import random
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache, partial
from typing import Any

from django.conf import settings
from django.core import signing
from django.db import connections, router, transaction
from django.db.models import F, Q, Value
from django.db.models.functions import Coalesce
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext

from . import delivery, limits
from .client import (
    CallOutcome,
    CallReport,
    InvalidReport,
    ProviderClient,
    StartedCall,
    parse_report,
)
from .conf import voiceotp_settings
from .db import instance_from_row, updates_returning, write_transaction
from .exceptions import (
    CallAgainRefused,
    CampaignUnavailable,
    ImproperlyConfigured,
    InvalidOTP,
    InvalidPhoneNumber,
    ProviderError,
    ProviderRejected,
    ProviderUnavailable,
    RateLimited,
)
from .models import Call, CallbackEvent, Campaign, failure_reason
from .payloads import loggable
from .phone import ProviderNumber, normalize_phone_number, validate_otp
from .sealing import PasscodeUnreadable, open_otp, seal_otp
from .signals import call_failed, call_status_changed, call_succeeded, send_robust

logger = logging.getLogger("django_voiceotp")

CALLBACK_TOKEN_SALT = "django_voiceotp.callback"
#: How far a reported start_time may lie from the call's life (creation to now): the provider's
#: clock and time zone may be off by hours, not by days.
START_TIME_TOLERANCE = timedelta(days=1)
#: Calls handled by one run of the sweeper, so a backlog is worked off in bounded steps.
SWEEP_BATCH = 500


@dataclass(frozen=True)
class FollowUp:
    """Work a task should schedule: run ``task`` for the same call in ``delay`` seconds."""

    task: str
    delay: float


# -- sending -------------------------------------------------------------------------------------


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
        phone_number=phone_number,
        otp=seal_otp(otp),
        created_at=now,
        # If the send task is lost on its way, the sweeper sends the call from then on.
        next_attempt_at=now + timedelta(seconds=voiceotp_settings.PENDING_GRACE),
    )
    # Inside limits.admit: its redials and fallback are counted against the same client.
    limits.remember_admission(call.pk)
    _log(call, "created")
    transaction.on_commit(partial(enqueue_send, call.pk))
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
        # Only from pending (not _fail, which also fails a sent call): if the provider accepted
        # the old call meanwhile, raising rolls the new one back, unsent.
        # A send attempt that claimed the old call since it was read wins: the provider may be
        # placing it (a claim taken before the read is not seen: docs/operations.rst says so).
        unchanged = {"status": Call.Status.PENDING, "send_attempts": call.send_attempts}
        if not Call.objects.filter(pk=call.pk, **unchanged).update(**replaced):
            raise CallAgainRefused(gettext("it was sent to the provider meanwhile."))
        for name, value in replaced.items():
            setattr(call, name, value)
        _announce(call, Call.Status.PENDING, Call.Status.FAILED)
    return new_call


def resolve_campaign(campaign: Campaign | str | None) -> Campaign:
    if isinstance(campaign, Campaign):
        if campaign.pk is None:
            raise CampaignUnavailable("The campaign is not saved.")
        resolved = campaign
    else:
        campaign_id = campaign or voiceotp_settings.DEFAULT_CAMPAIGN
        if not campaign_id:
            raise CampaignUnavailable(
                "No campaign given and VOICEOTP['DEFAULT_CAMPAIGN'] is not set."
            )
        resolved = _read_campaign(str(campaign_id)) or _create_campaign(str(campaign_id))
    if not resolved.is_active:
        raise CampaignUnavailable(f"The campaign {resolved.campaign_id} is inactive.")
    return resolved


def _read_campaign(campaign_id: str) -> Campaign | None:
    """The campaign with this provider id, as the ORM reads it, in a statement written here:
    send_otp's one read, and the ORM's building of it cost twice its running (RESULTS.md)."""
    connection = connections[router.db_for_read(Campaign)]
    names = _Names(connection)
    sql = (
        f"SELECT {', '.join(names.campaign_columns.values())} FROM {names.campaign_table} "
        f"WHERE {names.campaign_columns['campaign_id']} = %s"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [campaign_id])
        row = cursor.fetchone()
    return None if row is None else instance_from_row(connection, Campaign, row)


def _create_campaign(campaign_id: str) -> Campaign:
    # get_or_create: another process may create it between our read and this insert.
    campaign, _ = Campaign.objects.get_or_create(
        campaign_id=campaign_id, defaults={"name": campaign_id}
    )
    return campaign


def enqueue_send(call_id: int) -> None:
    from .tasks import send_call

    try:
        send_call.delay(call_id)
    except Exception:  # noqa: BLE001 - the broker may be down; the call is safe in the database
        logger.warning(
            "Could not enqueue the send of call %s; the sweeper will send it.",
            call_id,
            exc_info=True,
        )


def send_call(call_id: int) -> FollowUp | None:
    """Place the call with the provider, once, however many times this runs at once.

    Two statements when all goes well: the claim, which reads the call back, and the move to
    ``sent`` (which stores the provider's id and the time of the first poll: the sweeper brings
    it). Returns the retry to schedule when the provider is unavailable, else None.
    """
    now = timezone.now()
    call = _claim_and_read(call_id, now)
    if call is None:
        # Not claimable as it stands (or no UPDATE … RETURNING here): read it to see why.
        call = read_call(call_id)
        if call is None or call.status != Call.Status.PENDING:
            return None
        if call.send_attempts and call.next_attempt_at and call.next_attempt_at > now:
            # Another attempt holds the call (its lease), or its retry is not due: not ours.
            return None
        if call.created_at < now - timedelta(seconds=voiceotp_settings.OTP_MAX_AGE):
            _expire(call)
            return None
        if not _claim_send(call, now):
            return None

    if limits.sending_paused():
        # The kill switch stops every call at once, those already waiting to be placed too.
        _fail(call, Call.FailureCode.PAUSED)
        return None
    if call.send_attempts > 1 and apply_early_report(call, None):
        # An earlier attempt's answer was lost, but the provider reported the call it placed:
        # placing it again would call the person twice.
        return None
    try:
        started = ProviderClient().start_call(
            call.campaign.campaign_id,
            ProviderNumber(call.phone_number),  # normalised by send_otp: not parsed again
            open_otp(call.otp),
            callback_url=callback_url_for(call),
        )
    except PasscodeUnreadable:
        # SECRET_KEY changed without the old one in SECRET_KEY_FALLBACKS: no call can read it.
        _fail(call, Call.FailureCode.PASSCODE_UNREADABLE)
        return None
    except ProviderUnavailable as err:
        if call.send_attempts > voiceotp_settings.SEND_MAX_RETRIES:
            _fail(call, Call.FailureCode.PROVIDER_UNAVAILABLE, str(err))
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
        return FollowUp("send_call", delay)
    except (ProviderRejected, InvalidPhoneNumber, InvalidOTP) as err:
        _fail(call, Call.FailureCode.REJECTED, str(err))
        return None

    _mark_sent(call, started)
    return None


def _claim_and_read(call_id: int, now: datetime) -> Call | None:
    """``_claim_send`` and ``read_call`` in one ``UPDATE … RETURNING``.

    None when the call is not claimable (not pending, held by another attempt, a retry not yet
    due, or too old to send), and on a database without ``UPDATE … RETURNING``: the caller then
    reads the call to decide.
    """
    connection = connections[router.db_for_write(Call)]
    if not updates_returning(connection):
        return None
    names = _Names(connection)
    column = names.call_columns
    # RETURNING names one table: the campaign's columns come from subqueries, not a join.
    returned = [f"{names.call_table}.{name}" for name in column.values()] + [
        f"(SELECT {name} FROM {names.campaign_table} WHERE {names.campaign_join})"
        for name in names.campaign_columns.values()
    ]
    attempts, next_attempt = column["send_attempts"], column["next_attempt_at"]
    sql = (
        f"UPDATE {names.call_table} SET {attempts} = {attempts} + 1, {next_attempt} = %s "
        f"WHERE {column['id']} = %s AND {column['status']} = %s "
        f"AND ({attempts} = 0 OR {next_attempt} <= %s) AND {column['created_at']} >= %s "
        f"RETURNING {', '.join(returned)}"
    )
    adapt = connection.ops.adapt_datetimefield_value
    max_age = timedelta(seconds=voiceotp_settings.OTP_MAX_AGE)
    lease_until = now + timedelta(seconds=send_lease())
    params = [adapt(lease_until), call_id, Call.Status.PENDING, adapt(now), adapt(now - max_age)]
    return _call_from_statement(connection, sql, params)


def read_call(call_id: int) -> Call | None:
    """The call with its campaign, as ``Call.objects.select_related("campaign")`` reads it.

    The send, the poll and every callback read their call first. In the profile, building that
    query and its join through the ORM costs several times what running it does, so the
    statement is written here instead (benchmarks/RESULTS.md).
    """
    connection = connections[router.db_for_read(Call)]
    names = _Names(connection)
    selected = [f"{names.call_table}.{name}" for name in names.call_columns.values()]
    selected += [f"{names.campaign_table}.{name}" for name in names.campaign_columns.values()]
    sql = (
        f"SELECT {', '.join(selected)} FROM {names.call_table} "
        f"INNER JOIN {names.campaign_table} ON {names.campaign_join} "
        f"WHERE {names.call_table}.{names.call_columns['id']} = %s"
    )
    return _call_from_statement(connection, sql, [call_id])


class _Names:
    """The quoted table and column names of a call and its campaign, for the statements written
    here; the columns of each by field name, in field order, as ``instance_from_row`` reads them."""

    def __init__(self, connection) -> None:
        quote = connection.ops.quote_name
        self.call_table = quote(Call._meta.db_table)
        self.campaign_table = quote(Campaign._meta.db_table)
        self.call_columns = {f.name: quote(f.column) for f in Call._meta.concrete_fields}
        self.campaign_columns = {f.name: quote(f.column) for f in Campaign._meta.concrete_fields}
        self.campaign_join = (
            f"{self.campaign_table}.{quote(Campaign._meta.pk.column)} "
            f"= {self.call_table}.{self.call_columns['campaign']}"
        )


def _call_from_statement(connection, sql: str, params: list[Any]) -> Call | None:
    """The Call (its campaign attached) of the one row ``sql`` returns: the call's columns, then
    the campaign's, each in field order. None when it returns no row."""
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    if row is None:
        return None
    call_columns = len(Call._meta.concrete_fields)
    call = instance_from_row(connection, Call, row[:call_columns])
    # Cached as select_related caches it: assigning would ask the routers' allow_relation.
    Call.campaign.field.set_cached_value(
        call, instance_from_row(connection, Campaign, row[call_columns:])
    )
    return call


def _claim_send(call: Call, now: datetime) -> bool:
    """Take the call for one send attempt with a guarded update, so a duplicated task sends nothing.

    The first attempt may run at once; a later one only when its time has come (a retry's delay,
    or the lease of an attempt whose worker died).
    """
    claimable = Call.objects.filter(
        pk=call.pk, status=Call.Status.PENDING, send_attempts=call.send_attempts
    )
    if call.send_attempts:
        claimable = claimable.filter(next_attempt_at__lte=now)
    lease_until = now + timedelta(seconds=send_lease())
    if not claimable.update(send_attempts=call.send_attempts + 1, next_attempt_at=lease_until):
        return False
    call.send_attempts += 1
    call.next_attempt_at = lease_until
    return True


def send_lease() -> float:
    """Longest a send attempt can take: a token request, the call, and both again after a 401."""
    timeout = voiceotp_settings.TIMEOUT
    per_request = sum(timeout) if isinstance(timeout, (tuple, list)) else float(timeout)
    return 4 * per_request + 30


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
    moved = _transition(call, Call.Status.SENT, guard={"next_poll_at": None}, **sent)
    if not moved:
        if apply_early_report(call, started.call_id):
            return
        moved = _transition(call, Call.Status.SENT, **sent)
    if not moved:
        Call.objects.filter(pk=call.pk).update(provider_call_id=provider_call_id)


def callback_url_for(call: Call) -> str | None:
    """The call's own callback URL, carrying a signed, dated token; None when results are only
    polled. The token is refused after ``CALLBACK_TOKEN_MAX_AGE`` (see callback_token_max_age)."""
    base = voiceotp_settings.CALLBACK_BASE_URL
    if not base:
        return None
    try:
        path = reverse("django_voiceotp:callback", kwargs={"token": callback_token_for(call)})
    except NoReverseMatch:
        logger.warning(
            "CALLBACK_BASE_URL is set but django_voiceotp.urls is not included; polling only."
        )
        return None
    return base.rstrip("/") + path


def callback_token_for(call: Call) -> str:
    """The token of ``call``'s callback URL: its id, signed with the time of signing."""
    return _callback_signer().sign(str(call.pk))


def call_id_from_callback_token(token: str) -> int | None:
    """The call a callback token was signed for; None when forged, altered or too old."""
    max_age = callback_token_max_age()  # outside the try: a bad setting is not a bad token
    try:
        return int(_callback_signer().unsign(token, max_age=timedelta(seconds=max_age)))
    except (signing.BadSignature, ValueError):  # SignatureExpired is a BadSignature
        return None


def callback_token_max_age() -> float:
    """Seconds a callback URL stays valid: ``CALLBACK_TOKEN_MAX_AGE``, or by default a day past
    the last poll, when the call has its result or has failed with ``timeout`` long since."""
    max_age = voiceotp_settings.CALLBACK_TOKEN_MAX_AGE
    if max_age is None:
        return max(voiceotp_settings.POLL_SCHEDULE, default=0) + 24 * 3600
    if isinstance(max_age, bool) or not isinstance(max_age, (int, float)) or max_age <= 0:
        raise ImproperlyConfigured(
            "VOICEOTP['CALLBACK_TOKEN_MAX_AGE'] must be a positive number of seconds or None."
        )
    return float(max_age)


def _callback_signer() -> signing.TimestampSigner:
    # Keyed by the keys, so a rotated SECRET_KEY (or override_settings in tests) takes effect.
    return _signer_for(settings.SECRET_KEY, tuple(settings.SECRET_KEY_FALLBACKS))


@lru_cache(maxsize=4)
def _signer_for(key: str, fallback_keys: tuple[str, ...]) -> signing.TimestampSigner:
    return signing.TimestampSigner(
        key=key, fallback_keys=list(fallback_keys), salt=CALLBACK_TOKEN_SALT
    )


# -- results -------------------------------------------------------------------------------------


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
        return _finish(call, Call.Status.SUCCESS, **fields)
    code = failure_code_for_status(report.raw_status)
    return _finish(
        call,
        Call.Status.FAILED,
        failure_code=code,
        failure_reason=failure_reason(code, report.raw_status),
        **fields,
    )


def failure_code_for_status(raw_status: str) -> str:
    """The failure code of a failed status the provider reported: "not reached" for the
    statuses PROVIDER-NOTES lists as such (whatever REDIAL_STATUSES redials), else a failure."""
    not_reached = {status.casefold() for status in delivery.NOT_REACHED_STATUSES}
    if raw_status.strip().casefold() in not_reached:
        return Call.FailureCode.NOT_REACHED
    return Call.FailureCode.PROVIDER_FAILED


def note_early_report(call: Call) -> bool:
    """Mark a pending call whose callback brought a final report before the provider's answer
    (callbacks.py keeps it unapplied): ``next_poll_at`` is empty until a call is sent, so the
    send's move to ``sent``, guarded on it, fails and looks for the report (``_mark_sent``).
    False when the call is no longer pending: the send stored the provider's answer meanwhile."""
    pending = Call.objects.filter(pk=call.pk, status=Call.Status.PENDING)
    return bool(pending.update(next_poll_at=timezone.now()))


def apply_early_report(call: Call, provider_call_id: str | None) -> bool:
    """Apply the result a callback brought before the provider accepted ``call`` (callbacks.py
    keeps it unapplied). True when it made the call final; its event then says so.

    With the provider's answer, only a report that names its ``provider_call_id``. Without it
    (``None``: the answer to an earlier attempt was lost), the first report kept: the token
    reaches nobody but the provider before the provider has used it, so the first report is the
    provider's. A report stored after this look-up is not seen here: polling brings that result.
    """
    kept = CallbackEvent.objects.filter(call=call, verdict=CallbackEvent.Verdict.EARLY)
    if provider_call_id is not None:
        kept = kept.filter(payload__call_id=provider_call_id)
    early = kept.order_by("received_at", "pk").values_list("pk", "payload").first()
    if early is None:
        return False
    event_id, payload = early
    try:
        report = parse_report(payload)
    except InvalidReport:  # stored as received, made storable: no longer a valid report
        return False
    # The provider's id is not stored yet: stored with the result, as for any early report.
    call.provider_call_id = None
    if not apply_report(call, report):
        call.provider_call_id = provider_call_id
        return False
    CallbackEvent.objects.filter(pk=event_id).update(
        verdict=CallbackEvent.Verdict.APPLIED, reason=CallbackEvent.Reason.APPLIED
    )
    return True


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
    try:
        report = ProviderClient().get_report(call.provider_call_id)
    except ProviderError as err:
        logger.warning("Call %s: could not get its report (%s).", call.pk, loggable(err))
    else:
        if apply_report(call, report) or call.is_final:
            return None

    elapsed = (now - call.sent_at).total_seconds() if call.sent_at else float("inf")
    later = [point for point in voiceotp_settings.POLL_SCHEDULE if point > elapsed]
    if not later:
        _fail(call, Call.FailureCode.TIMEOUT)
        return None
    assert call.sent_at is not None  # without it, elapsed is infinite: failed above
    # The sweeper brings the next poll when it is due (by the index on next_poll_at).
    next_poll_at = call.sent_at + timedelta(seconds=later[0])
    Call.objects.filter(pk=call.pk, status=Call.Status.SENT).update(next_poll_at=next_poll_at)
    return None


def expire_stale_calls(now: datetime | None = None) -> int:
    """Fail pending calls whose passcode is too old to be of use. Returns how many.

    A call whose send attempt is in flight (its lease not over) is left to that attempt: failing
    it now could announce "expired" for a call the provider is placing at this moment.
    """
    stale = stale_calls(now).select_related("campaign").order_by("created_at")[:SWEEP_BATCH]
    return sum(_expire(call) for call in stale)


def stale_calls(now: datetime | None = None):
    """Pending calls too old to send, and not held by a send attempt in flight."""
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=voiceotp_settings.OTP_MAX_AGE)
    not_in_flight = (
        Q(send_attempts=0) | Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)
    )
    return Call.objects.filter(not_in_flight, status=Call.Status.PENDING, created_at__lt=cutoff)


def _expire(call: Call) -> bool:
    """Fail a pending call as ``expired``, unless a send attempt has claimed it since it was read:
    the guard on ``send_attempts`` makes the check and the change one atomic step."""
    return _transition(
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


# The sweeper takes the longest-waiting first, in the order of the (status, time) index it reads:
# under a backlog no call waits behind newer ones, and the database sorts nothing.


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


# -- transitions and signals ---------------------------------------------------------------------


def _fail(call: Call, code: str, detail: str = "") -> bool:
    """Fail ``call`` with failure ``code`` (a ``Call.FailureCode``) and its English reason."""
    return _finish(
        call, Call.Status.FAILED, failure_code=code, failure_reason=failure_reason(code, detail)
    )


def _finish(call: Call, status: str, **fields) -> bool:
    final: dict[str, Any] = {
        "finished_at": timezone.now(),
        "next_poll_at": None,
        "next_attempt_at": None,
    }
    if status == Call.Status.SUCCESS:
        return _transition(call, status, otp="", **final, **fields)  # the delivery ends here
    # The delivery policy decides what follows; only the process that fails the call does it.
    sealed_otp = call.otp
    plan = delivery.after_failure(call, fields.get("raw_status") or call.raw_status)
    # A failure and its redial are written together or not at all, and so is the end of the
    # delivery when a limit refuses the redial or the fallback: the signals, sent on commit,
    # then carry the reason. A failure that nothing follows is a lone update.
    followed = plan.redial_in is not None or plan.fallback
    with write_transaction() if followed else nullcontext():
        moved = _transition(call, status, **final, **plan.fields, **fields)
        if moved:
            delivery.carry_out(call, plan, sealed_otp)
    return moved


#: The statuses a call may move to each status from: only forward.
_MOVES_TO: dict[str, set[str]] = {
    Call.Status.SENT: {Call.Status.PENDING},
    Call.Status.SUCCESS: {Call.Status.PENDING, Call.Status.SENT},
    Call.Status.FAILED: {Call.Status.PENDING, Call.Status.SENT},
}


def _transition(call: Call, new_status: str, *, guard: dict | None = None, **fields) -> bool:
    """Move ``call`` to ``new_status`` with a compare-and-set on its current status.

    Statuses only move forward (pending → sent → success | failed), so this ends after a few
    rounds; only the process whose update matched announces the transition. ``guard``: more
    field values the row must still have; when they do not, the transition is not made.
    """
    while call.status in _MOVES_TO[new_status]:
        old_status = call.status
        values = {**fields, "status": new_status, "updated_at": timezone.now()}
        matching = Call.objects.filter(pk=call.pk, status=old_status, **(guard or {}))
        if matching.update(**values):
            for name, value in values.items():
                if not hasattr(value, "resolve_expression"):  # an expression: the caller sets it
                    setattr(call, name, value)
            _announce(call, old_status, new_status)
            return True
        if guard:
            return False  # the row changed under us: whoever changed it decides
        call.refresh_from_db(fields=["status"])
    return False


def _announce(call: Call, old_status: str, new_status: str) -> None:
    _log(call, f"{old_status} → {new_status}")
    transaction.on_commit(partial(_send_signals, call, old_status, new_status))


def _send_signals(call: Call, old_status: str, new_status: str) -> None:
    send_robust(call_status_changed, Call, call=call, old_status=old_status, new_status=new_status)
    if new_status == Call.Status.SUCCESS:
        send_robust(call_succeeded, Call, call=call)
    elif new_status == Call.Status.FAILED:
        redial = delivery.redial_after(call)
        send_robust(call_failed, Call, call=call, reason=call.failure_reason, redial=redial)


def _log(call: Call, event: str) -> None:
    # The reason may hold the provider's own text: escaped, it cannot forge a line.
    failed = call.status == Call.Status.FAILED
    reason = f", reason: {loggable(call.failure_reason)}" if failed else ""
    logger.info(
        "Call %s %s (campaign %s, phone %s%s)",
        call.pk,
        event,
        call.campaign.campaign_id,
        call.masked_phone_number,
        reason,
        extra={
            "call_id": call.pk,
            "campaign": call.campaign.campaign_id,
            "phone": call.masked_phone_number,
            "event": event,
        },
    )
