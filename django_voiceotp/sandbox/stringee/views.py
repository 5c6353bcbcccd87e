"""Views of the simulated Stringee API: the outbound call, its token check, the controls."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import time
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from .state import FAULT_KINDS, exchange

ERROR_PAGE = "<html><body><h1>{status}</h1></body></html>"


def _refused(message: str) -> JsonResponse:
    return JsonResponse({"r": 1, "message": message}, status=401)


def _unpadded_b64decode(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def token_problem(token: str) -> str:
    """Why the ``X-STRINGEE-AUTH`` token is refused, or "" when it is good."""
    parts = token.split(".")
    if len(parts) != 3:
        return "The token is not a JWT."
    try:
        header = json.loads(_unpadded_b64decode(parts[0]))
        claims = json.loads(_unpadded_b64decode(parts[1]))
        signature = _unpadded_b64decode(parts[2])
    except (ValueError, binascii.Error):
        return "The token is not a JWT."
    if not isinstance(header, dict) or not isinstance(claims, dict):
        return "The token is not a JWT."
    if header.get("alg") != "HS256" or header.get("cty") != "stringee-api;v=1":
        return "The token's header is not Stringee's (HS256, stringee-api;v=1)."
    expected = hmac.new(
        exchange.api_key_secret.encode(), f"{parts[0]}.{parts[1]}".encode(), hashlib.sha256
    ).digest()
    if not hmac.compare_digest(expected, signature):
        return "The token's signature is not the API key's."
    if claims.get("iss") != exchange.api_key_sid:
        return "The token's issuer is not an API key of this account."
    if claims.get("rest_api") is not True:
        return "The token is not for the REST API."
    expires = claims.get("exp")
    if not isinstance(expires, int) or isinstance(expires, bool) or expires <= time.time():
        return "The token has expired."
    return ""


def _number(party: Any) -> str:
    return str(party.get("number", "")) if isinstance(party, dict) else ""


@csrf_exempt
@require_http_methods(["POST"])
def callout(request: HttpRequest) -> HttpResponse:
    """``POST v1/call2/callout``: one call, its SCCO in ``actions``."""
    fault = exchange.next_fault()
    if fault is not None and fault.kind == "http_error":
        status = int(fault.params.get("status", 503))
        return HttpResponse(ERROR_PAGE.format(status=status), status=status)
    if fault is not None and fault.kind == "timeout":
        resets = exchange.resets
        time.sleep(float(fault.params.get("seconds", 2.0)))
        if exchange.resets != resets:
            return HttpResponse(status=204)  # reset meanwhile: nobody waits for this answer
        return HttpResponse(ERROR_PAGE.format(status=504), status=504)
    if fault is not None and fault.kind == "bad_token":
        return _refused("The token is not valid.")
    problem = token_problem(request.headers.get("X-Stringee-Auth", ""))
    if problem:
        return _refused(problem)
    try:
        body = json.loads(request.body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        body = None
    if not isinstance(body, dict):
        return JsonResponse({"r": 2, "message": "The body is not a JSON object."}, status=400)
    to = body.get("to")
    to_number = _number(to[0]) if isinstance(to, list) and to else ""
    from_number = _number(body.get("from"))
    actions = body.get("actions")
    if not to_number.isdigit():
        return JsonResponse({"r": 3, "message": "No number to call in 'to'."})
    if from_number != exchange.from_number:
        return JsonResponse({"r": 4, "message": "'from' is not a number of this account."})
    if not isinstance(actions, list) or not actions:
        return JsonResponse({"r": 5, "message": "No actions and no answer_url."})
    talks = [a for a in actions if isinstance(a, dict) and a.get("action") == "talk"]
    event_url = body.get("event_url")
    call = exchange.place(
        to_number=to_number,
        from_number=from_number,
        talks=talks,
        event_url=event_url if isinstance(event_url, str) else "",
    )
    return JsonResponse({"r": 0, "call_id": call.call_id, "message": "Call out success"})


@require_http_methods(["GET"])
def calls(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"calls": [call.listing() for call in exchange.calls]})


@csrf_exempt
@require_http_methods(["POST"])
def faults(request: HttpRequest) -> JsonResponse:
    try:
        body = json.loads(request.body.decode("utf-8"))
        kind = body.pop("kind")
        times = int(body.pop("times", 1))
        exchange.inject(kind, times=times, **body)
    except (AttributeError, KeyError, TypeError, ValueError, UnicodeDecodeError):
        return JsonResponse(
            {"error": f"A fault is a JSON object with a kind: {FAULT_KINDS}."}, status=400
        )
    return JsonResponse({"ok": True})


@csrf_exempt
@require_http_methods(["POST"])
def reset(request: HttpRequest) -> JsonResponse:
    exchange.reset()
    return JsonResponse({"ok": True})
