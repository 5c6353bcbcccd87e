"""Views of the simulated eSMS gateway: the two documented calls and the ``_sandbox/`` controls."""

from __future__ import annotations

import json
import re
import time
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from .state import FAULT_KINDS, Fault, gateway

#: A Vietnamese mobile number as the documentation's examples write it (0901888484), or with 84.
PHONE = re.compile(r"(0|84|\+84)[1-9][0-9]{8}")
SMS_TYPES = ("2", "8")
BAD_GATEWAY_PAGE = "<html><body><h1>{status}</h1></body></html>"


def _as_text(value: Any) -> str:
    """Every field is a string in the documentation, and a number in some examples: both go."""
    if isinstance(value, bool) or value is None:
        return ""
    return str(value) if isinstance(value, (str, int)) else ""


def _result(code: str, error: str = "", **extra: Any) -> JsonResponse:
    body: dict[str, Any] = {"CodeResult": code, "CountRegenerate": 0}
    if error:
        body["ErrorMessage"] = error
    body.update(extra)
    return JsonResponse(body)


def _fault_response(fault: Fault) -> HttpResponse | None:
    """The answer of an injected fault that replaces the gateway's; None for ``slow``."""
    if fault.kind == "http_error":
        status = int(fault.params.get("status", 502))
        return HttpResponse(BAD_GATEWAY_PAGE.format(status=status), status=status)
    if fault.kind == "garbage":
        return HttpResponse("<<not json", content_type="application/json")
    return None


@csrf_exempt
@require_http_methods(["POST"])
def send_message(request: HttpRequest) -> HttpResponse:
    """``SendMultipleMessage_V4_post_json``: one message to one phone number."""
    try:
        body = json.loads(request.body.decode("utf-8"))
    except ValueError:
        body = None
    gateway.record("send", body)
    fault = gateway.next_fault()
    if fault is not None and (replaced := _fault_response(fault)) is not None:
        return replaced  # nothing was sent
    answer = _send(body) if isinstance(body, dict) else None
    if fault is not None and fault.kind == "slow":
        # Sent, and answered too late for a client that gave up: it cannot know.
        resets = gateway.resets
        time.sleep(float(fault.params.get("seconds", 1.0)))
        if gateway.resets != resets:
            return HttpResponse(status=504)
    return answer or JsonResponse({"error": "Invalid request"}, status=400)


def _send(body: dict[str, Any]) -> JsonResponse:
    fields = {key: _as_text(body.get(key)) for key in (
        "ApiKey", "SecretKey", "Phone", "Content", "Brandname", "SmsType", "IsUnicode",
        "Sandbox", "RequestId", "CallbackUrl",
    )}  # fmt: skip
    if (fields["ApiKey"], fields["SecretKey"]) != (gateway.api_key, gateway.secret_key):
        return _result("101", "Authorize Failed")
    if not fields["SmsType"]:
        return _result("300", "Missing message type")
    if fields["SmsType"] not in SMS_TYPES:
        return _result("118", "Unsupported message type")
    if fields["SmsType"] == "2" and fields["Brandname"] not in gateway.brandnames:
        return _result("104", "Brand name code is not exist")
    if not PHONE.fullmatch(fields["Phone"]):
        return _result("108", "Phone number is not in correct format")
    if fields["Phone"] in gateway.blocked_phones:
        return _result("99", "The phone number is blocked in the system")
    sandbox = fields["Sandbox"] == "1"
    request_id = fields["RequestId"]
    # A Sandbox message is not stored: its RequestId blocks nothing.
    if request_id and not sandbox and not gateway.claim_request_id(request_id):
        return _result("124", "Request exist 1", SendStatus="5")
    message = gateway.accept(
        phone=fields["Phone"],
        content=fields["Content"],
        brandname=fields["Brandname"],
        sms_type=fields["SmsType"],
        is_unicode=fields["IsUnicode"] == "1",
        sandbox=sandbox,
        request_id=request_id,
        callback_url=fields["CallbackUrl"],
    )
    return _result("100", SMSID=message.sms_id)


@csrf_exempt
@require_http_methods(["GET"])
def get_send_status(request: HttpRequest) -> JsonResponse:
    """``GetSendStatus``: the status of one message by its SMSID (``RefId``)."""
    gateway.record("status", dict(request.GET.items()))
    ref_id = request.GET.get("RefId", "")
    keys = (request.GET.get("ApiKey"), request.GET.get("SecretKey"))
    if keys != (gateway.api_key, gateway.secret_key):
        return JsonResponse({"CodeResponse": "101", "SMSID": ref_id})
    message = gateway.find(ref_id)
    if message is None:
        return JsonResponse({"CodeResponse": "105", "SMSID": ref_id})
    success, failed = message.outcome or (0, 0)
    return JsonResponse(
        {
            "CodeResponse": "100",
            "SMSID": message.sms_id,
            "SendFailed": failed,
            "SendStatus": 5 if message.outcome else 2,
            "SendSuccess": success,
            "TotalPrice": 0.0 if failed else 850.0,
            "TotalReceiver": 1,
            "TotalSent": 1 if message.outcome else 0,
        }
    )


# -- controls ------------------------------------------------------------------------------------


@csrf_exempt
@require_http_methods(["GET"])
def messages(request: HttpRequest) -> JsonResponse:
    """Every message, newest first, its content included on purpose (the phone's part)."""
    return JsonResponse(gateway.listing(request.GET.get("phone")), safe=False)


@csrf_exempt
@require_http_methods(["POST"])
def faults(request: HttpRequest) -> JsonResponse:
    """``{"kind": ..., "times": 1, ...params}``: the next requests to send meet this fault."""
    try:
        body = json.loads(request.body.decode("utf-8"))
        kind = body.pop("kind")
        times = int(body.pop("times", 1))
        gateway.inject(kind, times=times, **body)
    except (ValueError, TypeError, KeyError, AttributeError):
        return JsonResponse({"error": f"a JSON object with a kind among {FAULT_KINDS}"}, status=400)
    return JsonResponse({"kind": kind, "times": times})


@csrf_exempt
@require_http_methods(["POST"])
def reset(request: HttpRequest) -> JsonResponse:
    gateway.reset()
    return JsonResponse({"reset": True})
