"""Receiving the provider's callbacks: authenticate, validate, store, apply.

Every request leaves a record and gets an answer below 500. A request with a valid token for a
call still waiting for its result gets a CallbackEvent of its own, with its body made storable and
redacted (``payloads``), and its report parsed by the backend of the provider that placed the call
(``providers``), whose values are validated as a poll's are. Any other is counted at bounded cost
(``rejections``). The view (``callbacks.views``) reads the request and answers with the verdict
decided here.
"""

from __future__ import annotations

import ipaddress
import logging
from dataclasses import dataclass
from datetime import timedelta
from numbers import Real

from django.db import DataError, IntegrityError
from django.utils import timezone

from .. import metrics
from ..callback_urls import call_id_from_callback_token
from ..claims import read_call
from ..conf import DEFAULTS, voiceotp_settings
from ..db import write_transaction
from ..models import Call, CallbackEvent
from ..payloads import PayloadError, loggable, parse_json, storable, storable_text
from ..provider_reports import InvalidReport
from ..providers import get_provider
from ..results import apply_report, note_early_report
from .events import insert_event
from .rejections import network_of, record_counted

logger = logging.getLogger("django_voiceotp")
Verdict = CallbackEvent.Verdict
Reason = CallbackEvent.Reason

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
        record_counted(
            BAD_TOKEN.verdict, BAD_TOKEN.reason, None, remote_addr, size=len(body), body=body
        )
        return _logged(BAD_TOKEN, None)
    if _token_spent(call):
        record_counted(
            CALL_FINISHED.verdict,
            CALL_FINISHED.reason,
            call,
            remote_addr,
            size=len(body),
            body=body,
        )
        return _logged(CALL_FINISHED, call)

    event = CallbackEvent(
        call=call,
        remote_addr=remote_addr,
        remote_network=network_of(remote_addr),
        body_size=len(body),
    )
    if call.is_final:
        # Nothing is applied to a call with its result: the verdict is told, the run counted.
        result = _judge(event, call, body, content_type)
        record_counted(result.verdict, result.reason, call, remote_addr, size=len(body), body=body)
        return _logged(result, call)
    try:
        # One step: what cannot be recorded is not applied either (its signals are dropped too).
        with write_transaction():
            result = _judge(event, call, body, content_type)
            event.verdict, event.reason = result.verdict, result.reason
            insert_event(event)
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
        record_counted(result.verdict, result.reason, call, remote_addr, size=size, body=b"")
    else:
        CallbackEvent.objects.create(
            call=call,
            verdict=result.verdict,
            reason=result.reason,
            remote_addr=remote_addr,
            remote_network=network_of(remote_addr),
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
        # One door for every provider: the call's own reads its body (routed by the token).
        report = get_provider(call.provider).parse_webhook(payload)
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
        # if the provider gives this call_id (results.apply_early_report); else polling finds
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
