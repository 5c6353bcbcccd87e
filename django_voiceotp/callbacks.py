"""Receiving the provider's callbacks: authenticate, validate, store, apply.

Every request leaves a record and gets an answer below 500. A request with a valid token gets a
CallbackEvent of its own, with its body made storable and redacted (``payloads``). One without
costs bounded storage: its facts and the start of its body, and repeated ones from one address
are counted on one event (``REJECTION_WINDOW``), so a forged flood cannot fill the disk.
"""

from __future__ import annotations

import ipaddress
import logging
from dataclasses import dataclass
from datetime import timedelta

from django.db import DataError, IntegrityError
from django.db.models import F
from django.utils import timezone

from . import metrics
from .client import InvalidReport, parse_report
from .db import write_transaction
from .models import Call, CallbackEvent
from .payloads import PayloadError, loggable, parse_json, storable, storable_text
from .services import apply_report, call_id_from_callback_token, read_call

logger = logging.getLogger("django_voiceotp")
Verdict = CallbackEvent.Verdict
Reason = CallbackEvent.Reason

#: Rejected requests without a valid token from one address, of one verdict, within this time
#: after the first are counted on the first one's event.
REJECTION_WINDOW = timedelta(hours=1)
#: Characters kept of the body of a request without a valid token: enough to tell what it was.
REJECTED_BODY_PREFIX = 256
#: What the database refuses to store, whatever was done to make it storable: the request's
#: facts are then kept without its body. (A lock is an OperationalError: not caught here.)
UNSTORABLE_ERRORS = (DataError, IntegrityError, UnicodeError)


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


def receive_callback(
    token: str, body: bytes, *, content_type: str, remote_addr: str | None
) -> CallbackResult:
    """Handle one callback request whose body was read; each is recorded with its verdict."""
    remote_addr = _ip_address(remote_addr)
    call = _call_for(token)
    if call is None:
        _record_rejection(BAD_TOKEN, remote_addr, size=len(body), body=body)
        return _logged(BAD_TOKEN)

    event = CallbackEvent(call=call, remote_addr=remote_addr, body_size=len(body))
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
            body_size=len(body),
        )
    return _logged(result)


def receive_unread_callback(
    token: str, result: CallbackResult, *, size: int | None, remote_addr: str | None
) -> CallbackResult:
    """A request whose body is not read (``TOO_LARGE``, ``LENGTH_REQUIRED``) is still recorded."""
    remote_addr = _ip_address(remote_addr)
    call = _call_for(token)
    if call is None:
        _record_rejection(result, remote_addr, size=size, body=b"")
    else:
        CallbackEvent.objects.create(
            call=call,
            verdict=result.verdict,
            reason=result.reason,
            remote_addr=remote_addr,
            body_size=size,
        )
    return _logged(result)


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
    if call.provider_call_id is None and _belongs_to_another_call(call, report.call_id):
        return CallbackResult(
            400, Verdict.MISMATCH, Reason.CALL_ID_TAKEN, "The call_id belongs to another call."
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


def _belongs_to_another_call(call: Call, provider_call_id: str) -> bool:
    # Checked only for an early callback, before the send task stored the provider's id.
    return Call.objects.filter(provider_call_id=provider_call_id).exclude(pk=call.pk).exists()


def _record_rejection(
    result: CallbackResult, remote_addr: str | None, *, size: int | None, body: bytes
) -> None:
    """Record a request without a valid token: counted on the latest event of its address and
    verdict within ``REJECTION_WINDOW``, or a new event with the start of its body."""
    now = timezone.now()
    latest = (
        CallbackEvent.objects.filter(
            call=None,
            verdict=result.verdict,
            remote_addr=remote_addr,
            received_at__gte=now - REJECTION_WINDOW,
        )
        .order_by("-received_at")
        .values_list("pk", flat=True)
        .first()
    )
    if latest is not None:
        counted = CallbackEvent.objects.filter(pk=latest).update(
            count=F("count") + 1, last_received_at=now
        )
        if counted:
            return
    # Redacted before it is cut, so a cut cannot hide a passcode from the redaction.
    prefix = body[: REJECTED_BODY_PREFIX * 4].decode("utf-8", errors="replace")
    CallbackEvent.objects.create(
        verdict=result.verdict,
        reason=result.reason,
        remote_addr=remote_addr,
        body_size=size,
        raw_body=storable_text(prefix)[:REJECTED_BODY_PREFIX],
        received_at=now,
    )


def _ip_address(remote_addr: str | None) -> str | None:
    """The client's address if it is one; anything else (a socket path, a proxy's garbage) is
    unknown, as the database's inet column would refuse it."""
    try:
        return str(ipaddress.ip_address(remote_addr or ""))
    except ValueError:
        return None


def _logged(result: CallbackResult) -> CallbackResult:
    metrics.callback_received(result.verdict)
    if result.verdict in CallbackEvent.REJECTED:
        logger.warning("Callback rejected (%s): %s", result.verdict, loggable(result.detail))
    return result
