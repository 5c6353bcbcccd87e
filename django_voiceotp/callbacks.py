"""Receiving the provider's callbacks: authenticate, validate, store, apply."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any

from .client import parse_report
from .db import write_transaction
from .models import Call, CallbackEvent
from .services import apply_report, call_id_from_callback_token

logger = logging.getLogger("django_voiceotp")
Verdict = CallbackEvent.Verdict


@dataclass(frozen=True)
class CallbackResult:
    http_status: int
    verdict: str
    detail: str = ""


def receive_callback(
    token: str, body: bytes, *, content_type: str, remote_addr: str | None
) -> CallbackResult:
    """Handle one callback request; every one is stored as a CallbackEvent with its verdict."""
    event = CallbackEvent(remote_addr=remote_addr or None)
    with write_transaction():
        result = _judge(event, token, body, content_type)
        event.verdict, event.detail = result.verdict, result.detail[:255]
        event.save()
    if result.verdict in CallbackEvent.REJECTED:
        logger.warning("Callback rejected (%s): %s", result.verdict, result.detail)
    return result


def receive_oversized_callback(token: str, *, remote_addr: str | None) -> CallbackResult:
    """A body above CALLBACK_MAX_BODY_SIZE is not read at all; its arrival is still recorded."""
    call_id = call_id_from_callback_token(token)
    result = CallbackResult(413, Verdict.TOO_LARGE, "The body is larger than allowed.")
    CallbackEvent.objects.create(
        call_id=call_id if Call.objects.filter(pk=call_id).exists() else None,
        verdict=result.verdict,
        detail=result.detail,
        remote_addr=remote_addr or None,
    )
    return result


def _judge(event: CallbackEvent, token: str, body: bytes, content_type: str) -> CallbackResult:
    payload = _parse_json(body)
    if payload is None:
        event.raw_body = body.decode("utf-8", errors="replace")
    else:
        event.payload = _redacted(payload)

    call_id = call_id_from_callback_token(token)
    call = Call.objects.select_related("campaign").filter(pk=call_id).first() if call_id else None
    if call is None:
        return CallbackResult(403, Verdict.BAD_TOKEN, "The callback token is not valid.")
    event.call = call

    if content_type.split(";")[0].strip().lower() != "application/json":
        return CallbackResult(415, Verdict.MALFORMED, "The content type must be application/json.")
    if payload is None:
        return CallbackResult(400, Verdict.MALFORMED, "The body is not valid JSON.")
    try:
        report = parse_report(payload)
    except ValueError as err:
        return CallbackResult(400, Verdict.MALFORMED, str(err))
    if call.provider_call_id and report.call_id != call.provider_call_id:
        return CallbackResult(400, Verdict.MISMATCH, "The call_id is not this call's.")

    if not report.is_final:
        return CallbackResult(200, Verdict.IN_PROGRESS, f"Status {report.raw_status!r}.")
    if call.provider_call_id is None and _belongs_to_another_call(call, report.call_id):
        return CallbackResult(400, Verdict.MISMATCH, "The call_id belongs to another call.")
    if apply_report(call, report):
        return CallbackResult(200, Verdict.APPLIED, f"Call is now {call.status}.")
    return CallbackResult(200, Verdict.DUPLICATE, f"Call was already {call.status}.")


def _belongs_to_another_call(call: Call, provider_call_id: str) -> bool:
    # Checked only for an early callback, before the send task stored the provider's id.
    return Call.objects.filter(provider_call_id=provider_call_id).exclude(pk=call.pk).exists()


def _parse_json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except ValueError:
        return None


def _redacted(payload: Any) -> Any:
    """The keypress is the passcode the person typed: it is never stored."""
    if isinstance(payload, dict) and payload.get("keypress"):
        return {**payload, "keypress": "[redacted]"}
    return payload
