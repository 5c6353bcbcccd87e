"""Receiving the provider's callbacks: authenticate, validate, store, apply.

Every request leaves a record and gets an answer below 500. A request with a valid token for a
call still waiting for its result gets a CallbackEvent of its own, with its body made storable and
redacted (``payloads``). Any other costs bounded storage: its facts, counted on one event per run
(``REJECTION_WINDOW``), so neither a forged flood nor a token read from an access log can fill
the disk; a run's first event keeps the start of a rejected request's body. The runs:

- without a valid token: a run per network (an IPv6 address's /64, as the abuse limits count
  it) and verdict; past ``REJECTED_ROWS_PER_HOUR`` new runs in an hour, one run per verdict for
  every network, without a body;
- with the token of a call that already has its result: a run per call and verdict. The token is
  refused ``CALLBACK_FINAL_GRACE`` seconds after that result.
"""

from __future__ import annotations

import ipaddress
import logging
from dataclasses import dataclass
from datetime import timedelta
from numbers import Real

from django.db import DataError, IntegrityError
from django.db.models import F, QuerySet
from django.utils import timezone

from . import metrics
from .conf import DEFAULTS, voiceotp_settings
from .db import write_transaction
from .limits import ip_subject
from .models import Call, CallbackEvent
from .payloads import PayloadError, loggable, parse_json, storable, storable_text
from .provider_reports import InvalidReport, parse_report
from .services import apply_report, call_id_from_callback_token, note_early_report, read_call

logger = logging.getLogger("django_voiceotp")
Verdict = CallbackEvent.Verdict
Reason = CallbackEvent.Reason

#: Requests of one run (see the module's docstring) within this time after the first are counted
#: on the first one's event.
REJECTION_WINDOW = timedelta(hours=1)
#: Runs without a valid token started within REJECTION_WINDOW, site-wide: past it, a request
#: from a network without a run is counted on its verdict's run of ``ANY_NETWORK``, so rotating
#: addresses cost no more rows (the metric of verdicts still counts every request).
REJECTED_ROWS_PER_HOUR = 1000
ANY_NETWORK = "*"
#: Characters kept of the body of a request without a valid token: enough to tell what it was.
REJECTED_BODY_PREFIX = 256
#: What the database refuses to store, whatever was done to make it storable: the request's
#: facts are then kept without its body. (A lock is an OperationalError: not caught here.)
UNSTORABLE_ERRORS = (DataError, IntegrityError, UnicodeError)
#: The most ``CALLBACK_FINAL_GRACE`` may be, 30 days: the provider's late copies come within
#: minutes, and a longer grace only keeps a token read from an access log alive (the token
#: itself expires after ``CALLBACK_TOKEN_MAX_AGE``, a day past the last poll by default).
CALLBACK_FINAL_GRACE_MAX = 30 * 24 * 3600


@dataclass(frozen=True)
class CallbackResult:
    http_status: int
    verdict: str
    reason: str
    #: For the response, in English: the provider's engineers read it.
    detail: str = ""


BAD_TOKEN = CallbackResult(
    403, Verdict.BAD_TOKEN, Reason.BAD_TOKEN, "The callback token is not valid or has expired."
)
TOO_LARGE = CallbackResult(
    413, Verdict.TOO_LARGE, Reason.TOO_LARGE, "The body is larger than allowed."
)
LENGTH_REQUIRED = CallbackResult(
    411,
    Verdict.MALFORMED,
    Reason.LENGTH_REQUIRED,
    "A chunked body is not read: send it with a Content-Length.",
)
UNSTORABLE = CallbackResult(
    400, Verdict.MALFORMED, Reason.UNSTORABLE, "The request could not be stored as received."
)
CALL_FINISHED = CallbackResult(
    403, Verdict.BAD_TOKEN, Reason.CALL_FINISHED, "The callback token is not valid or has expired."
)


def receive_callback(
    token: str, body: bytes, *, content_type: str, remote_addr: str | None
) -> CallbackResult:
    """Handle one callback request whose body was read; each is recorded with its verdict.

    ``remote_addr``: the client as the abuse limits see it (``limits.clients.client_ip``).
    """
    remote_addr = _ip_address(remote_addr)
    call = _call_for(token)
    if call is None:
        _record_counted(BAD_TOKEN, None, remote_addr, size=len(body), body=body)
        return _logged(BAD_TOKEN, None)
    if _token_spent(call):
        _record_counted(CALL_FINISHED, call, remote_addr, size=len(body), body=body)
        return _logged(CALL_FINISHED, call)

    event = CallbackEvent(
        call=call,
        remote_addr=remote_addr,
        remote_network=_network(remote_addr),
        body_size=len(body),
    )
    if call.is_final:
        # Nothing is applied to a call with its result: the verdict is told, the run counted.
        result = _judge(event, call, body, content_type)
        _record_counted(result, call, remote_addr, size=len(body), body=body)
        return _logged(result, call)
    try:
        # One step: what cannot be recorded is not applied either (its signals are dropped too).
        with write_transaction():
            result = _judge(event, call, body, content_type)
            event.verdict, event.reason = result.verdict, result.reason
            event.save()
    except UNSTORABLE_ERRORS:
        logger.warning("Callback for call %s could not be stored as received.", call.pk)
        result = UNSTORABLE
        CallbackEvent.objects.create(
            call=call,
            verdict=result.verdict,
            reason=result.reason,
            remote_addr=remote_addr,
            remote_network=event.remote_network,
            body_size=len(body),
        )
    return _logged(result, call)


def receive_unread_callback(
    token: str, result: CallbackResult, *, size: int | None, remote_addr: str | None
) -> CallbackResult:
    """A request whose body is not read (``TOO_LARGE``, ``LENGTH_REQUIRED``) is still recorded."""
    remote_addr = _ip_address(remote_addr)
    call = _call_for(token)
    if call is not None and _token_spent(call):
        result = CALL_FINISHED
    if call is None or call.is_final:
        _record_counted(result, call, remote_addr, size=size, body=b"")
    else:
        CallbackEvent.objects.create(
            call=call,
            verdict=result.verdict,
            reason=result.reason,
            remote_addr=remote_addr,
            remote_network=_network(remote_addr),
            body_size=size,
        )
    return _logged(result, call)


def _judge(event: CallbackEvent, call: Call, body: bytes, content_type: str) -> CallbackResult:
    parse_error: PayloadError | None = None
    try:
        payload = parse_json(body)
    except PayloadError as err:
        payload, parse_error = None, err
        event.raw_body = storable_text(body.decode("utf-8", errors="replace"))
    else:
        event.payload = storable(payload)

    if content_type.split(";")[0].strip().lower() != "application/json":
        return CallbackResult(
            415,
            Verdict.MALFORMED,
            Reason.WRONG_CONTENT_TYPE,
            "The content type must be application/json.",
        )
    if parse_error is not None:
        return CallbackResult(400, Verdict.MALFORMED, Reason.NOT_JSON, str(parse_error))
    try:
        report = parse_report(payload)
    except InvalidReport as err:
        return CallbackResult(400, Verdict.MALFORMED, err.reason, str(err))
    if call.provider_call_id and report.call_id != call.provider_call_id:
        return CallbackResult(
            400, Verdict.MISMATCH, Reason.CALL_ID_MISMATCH, "The call_id is not this call's."
        )

    if not report.is_final:
        return CallbackResult(
            200, Verdict.IN_PROGRESS, Reason.IN_PROGRESS, f"Status {report.raw_status!r}."
        )
    if call.provider_call_id is None and not call.is_final:
        # Before the provider's answer nothing proves the call_id is this call's: whoever read
        # the token could fail the call (and have it redialled). Kept, and applied by the send
        # if the provider gives this call_id (services.apply_early_report); else polling finds
        # the result.
        if note_early_report(call):
            return CallbackResult(
                200,
                Verdict.EARLY,
                Reason.EARLY,
                "Recorded; applied once the call_id is the call's.",
            )
        # The send stored the provider's answer since the call was read: judged against it.
        call.refresh_from_db(fields=["status", "provider_call_id"])
        if call.provider_call_id and report.call_id != call.provider_call_id:
            return CallbackResult(
                400, Verdict.MISMATCH, Reason.CALL_ID_MISMATCH, "The call_id is not this call's."
            )
    if apply_report(call, report):
        return CallbackResult(200, Verdict.APPLIED, Reason.APPLIED, f"Call is now {call.status}.")
    return CallbackResult(
        200, Verdict.DUPLICATE, Reason.ALREADY_FINAL, f"Call was already {call.status}."
    )


def _call_for(token: str) -> Call | None:
    call_id = call_id_from_callback_token(token)
    if call_id is None:
        return None
    return read_call(call_id)


def _token_spent(call: Call) -> bool:
    """Whether the call has had its result for longer than ``CALLBACK_FINAL_GRACE``: the
    provider's late copies are over, and its token, perhaps read from an access log since, is
    no longer accepted."""
    if not call.is_final:
        return False
    finished_at = call.finished_at or call.updated_at
    grace = timedelta(seconds=callback_final_grace())
    return finished_at is not None and finished_at + grace < timezone.now()


def callback_final_grace() -> float:
    """Seconds a call's callback token is still accepted after its result (a duplicate then is
    counted, not stored)."""
    grace = voiceotp_settings.CALLBACK_FINAL_GRACE
    if not is_valid_final_grace(grace):
        # Reported by the system check; here, the default rather than a 500 at the door.
        return float(DEFAULTS["CALLBACK_FINAL_GRACE"])
    return float(grace)


def is_valid_final_grace(value: object) -> bool:
    """A number of seconds from 0 to ``CALLBACK_FINAL_GRACE_MAX``: NaN, infinity or a vast number
    would make the token's deadline a ValueError or an OverflowError at the door."""
    return (
        isinstance(value, Real)
        and not isinstance(value, bool)
        and 0 <= float(value) <= CALLBACK_FINAL_GRACE_MAX  # False for NaN
    )


def _record_counted(
    result: CallbackResult,
    call: Call | None,
    remote_addr: str | None,
    *,
    size: int | None,
    body: bytes,
) -> None:
    """Record a request at bounded cost: counted on its run's event within ``REJECTION_WINDOW``,
    or a new event, with the start of the body of a rejected request. A run is the call's and
    verdict's for a call with a valid token, else its network's and verdict's (see the module's
    docstring)."""
    now = timezone.now()
    network = _network(remote_addr)
    since = now - REJECTION_WINDOW
    if _count_on_run(run_of(result.verdict, call, network, since), now):
        return
    if call is not None and result.verdict not in CallbackEvent.REJECTED:
        body = b""  # a report like those the call's own events show: its facts are enough
    elif call is None and rejected_runs_started(since).exists():
        if _count_on_run(run_of(result.verdict, None, ANY_NETWORK, since), now):
            return
        remote_addr, network, body = None, ANY_NETWORK, b""
    # Redacted before it is cut, so a cut cannot hide a passcode from the redaction.
    prefix = body[: REJECTED_BODY_PREFIX * 4].decode("utf-8", errors="replace")
    CallbackEvent.objects.create(
        call=call,
        verdict=result.verdict,
        reason=result.reason,
        remote_addr=remote_addr,
        remote_network=network,
        body_size=size,
        raw_body=storable_text(prefix)[:REJECTED_BODY_PREFIX],
        received_at=now,
    )


def run_of(verdict: str, call: Call | None, network: str, since) -> QuerySet[CallbackEvent]:
    """The events a request of ``verdict`` may be counted on, latest first: of ``call``, or
    without a call (read on its partial index) of ``network``, begun since ``since``."""
    if call is not None:
        runs = CallbackEvent.objects.filter(call=call, verdict=verdict)
    else:
        runs = CallbackEvent.objects.filter(call=None, verdict=verdict, remote_network=network)
    return runs.filter(received_at__gte=since).order_by("-received_at")


def _count_on_run(run: QuerySet[CallbackEvent], now) -> bool:
    """Count the request on the latest event of ``run``; False if there is none."""
    latest = run.values_list("pk", flat=True).first()
    if latest is None:
        return False
    return bool(
        CallbackEvent.objects.filter(pk=latest).update(count=F("count") + 1, last_received_at=now)
    )


def rejected_runs_started(since) -> QuerySet[CallbackEvent]:
    """The ``REJECTED_ROWS_PER_HOUR``-th run without a call begun since ``since``, if there is one
    (on the partial index, reading at most that many entries): whether the cap is reached."""
    started = CallbackEvent.objects.filter(call=None, received_at__gte=since).order_by()
    return started[REJECTED_ROWS_PER_HOUR - 1 : REJECTED_ROWS_PER_HOUR]


def _network(remote_addr: str | None) -> str:
    """What runs without a valid token are counted by: the network the abuse limits count."""
    return ip_subject(remote_addr) if remote_addr else ""


def _ip_address(remote_addr: str | None) -> str | None:
    """The client's address if it is one; anything else (a socket path, a proxy's garbage) is
    unknown, as the database's inet column would refuse it."""
    try:
        return str(ipaddress.ip_address(remote_addr or ""))
    except ValueError:
        return None


def _logged(result: CallbackResult, call: Call | None) -> CallbackResult:
    # The call's pk, never its token: the view keeps the path out of django.request's records.
    metrics.callback_received(result.verdict)
    if result.verdict in CallbackEvent.REJECTED:
        logger.warning(
            "Callback for call %s rejected (%s): %s",
            call.pk if call is not None else "unknown",
            result.verdict,
            loggable(result.detail),
        )
    return result
