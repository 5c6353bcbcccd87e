"""HTTP views of the sandbox provider: the spec's three endpoints and the ``_sandbox/`` controls."""

import dataclasses
import functools
import json
import re
import time
from collections.abc import Callable
from http import HTTPStatus
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from . import constants
from .state import ENDPOINTS, Fault, RecordedRequest, provider

# National form as in every example, or the international forms the provider also sees.
PHONE_NUMBER = re.compile(r"(0|84|\+84)[0-9]{9}")
# Not str.isdigit(): that accepts non-ASCII digits such as "²".
OTP = re.compile(r"[0-9]+")
#: Where the request's arrival time (Unix time) is kept for the view, among the WSGI environ's.
RECEIVED_AT = "voiceotp_sandbox.received_at"

GATEWAY_PAGE = (
    "<html>\r\n<head><title>{status} {phrase}</title></head>\r\n<body>\r\n"
    "<center><h1>{status} {phrase}</h1></center>\r\n<hr><center>nginx</center>\r\n"
    "</body>\r\n</html>\r\n"
)


def _phrase(code: int) -> str:
    try:
        return HTTPStatus(code).phrase
    except ValueError:
        return "Error"


def _error(status: int, error: str, *, http_status: int | None = None) -> JsonResponse:
    """The spec's error body, ``messsage`` with three s included."""
    body = {"messsage": _phrase(status), "code": status, "status": False, "data": {"error": error}}
    return JsonResponse(body, status=http_status or status)


def _ok(data: dict[str, Any]) -> JsonResponse:
    return JsonResponse({"message": "OK", "code": 200, "status": True, "data": data})


def _parse_body(request: HttpRequest) -> Any:
    text = request.body.decode("utf-8", errors="replace")
    try:
        return json.loads(text)
    except ValueError:
        return text


def _fault_response(fault: Fault) -> HttpResponse | None:
    """Answer for a fault that replaces the response; None lets the request proceed."""
    params = fault.params
    if fault.kind == "http_error":
        page = GATEWAY_PAGE.format(status=params["status"], phrase=_phrase(params["status"]))
        return HttpResponse(page, status=params["status"], content_type="text/html")
    if fault.kind == "error_200":
        return _error(params["code"], params["error"], http_status=200)
    if fault.kind == "rate_limit":
        return _error(429, "rate limit exceeded")
    if fault.kind == "garbage":
        # Claims to be JSON and is not: the worst a client can meet.
        return HttpResponse("<<garbage>> not json {", content_type="application/json")
    if fault.kind == "slow":
        resets = provider.resets
        time.sleep(params["seconds"])
        if provider.resets != resets:
            # The client has long given up and its test is over: touch no state of the next one.
            return HttpResponse(GATEWAY_PAGE.format(status=504, phrase=_phrase(504)), status=504)
    elif fault.kind == "expire_token":
        provider.expire_tokens()
    return None


def _api_view(endpoint: str, method: str) -> Callable[[Callable[..., HttpResponse]], Any]:
    """Record every request, check the method, then apply any injected fault before ``view``."""

    def decorate(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @csrf_exempt
        @functools.wraps(view)
        def wrapper(request: HttpRequest, **kwargs: Any) -> HttpResponse:
            # Before any fault holds the request: when the provider would have it.
            request.META[RECEIVED_AT] = time.time()
            provider.record(
                RecordedRequest(
                    endpoint=endpoint,
                    method=request.method or "",
                    path=request.get_full_path(),
                    headers=dict(request.headers),
                    body=_parse_body(request),
                    received_at=request.META[RECEIVED_AT],
                )
            )
            if request.method != method:
                return _error(405, f"use {method}")
            fault = provider.take_fault(endpoint)
            if fault is not None:
                response = _fault_response(fault)
                if response is not None:
                    return response
            return view(request, fault=fault, **kwargs)

        return wrapper

    return decorate


def _json_object(request: HttpRequest) -> dict[str, Any] | None:
    try:
        data = json.loads(request.body)
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def _authenticate(request: HttpRequest) -> JsonResponse | None:
    """A 401 unless the Authorization header holds a valid token, raw (v1) or ``Bearer``."""
    header = request.headers.get("Authorization", "").strip()
    if not header:
        return _error(401, "missing Authorization header")
    scheme, _, credentials = header.partition(" ")
    token = credentials.strip() if scheme.lower() == "bearer" else header
    if not provider.token_is_valid(token):
        return _error(401, "invalid or expired access token")
    return None


def _check_user_id(user_id: Any) -> JsonResponse | None:
    if not user_id:
        return _error(400, "user_id is required")
    if user_id != constants.USER_ID:
        return _error(403, "user_id does not match the access token")
    return None


@_api_view("token", "POST")
def generate_access_token(request: HttpRequest, fault: Fault | None) -> HttpResponse:
    data = _json_object(request)
    if data is None:
        return _error(400, "request body must be a JSON object")
    secret_key = data.get("secret_key")
    if not isinstance(secret_key, str) or not secret_key:
        return _error(400, "secret_key is required")
    if secret_key != constants.SECRET_KEY:
        return _error(401, "invalid secret_key")
    access_token, expire_at = provider.issue_token()
    return _ok(
        {
            "id": constants.SECRET_KEY,
            "user_id": constants.USER_ID,
            "access_token": access_token,
            "refresh_token": "",
            "expire_at": expire_at,
            "token_type": "Bearer",
            "scope": "member",
        }
    )


@_api_view("voiceotp", "POST")
def voiceotp(request: HttpRequest, fault: Fault | None, campaign_id: str) -> HttpResponse:
    if denied := _authenticate(request):
        return denied
    data = _json_object(request)
    if data is None:
        return _error(400, "request body must be a JSON object")
    if not provider.has_campaign(campaign_id):
        return _error(404, f"campaign {campaign_id} not found")
    if denied := _check_user_id(data.get("user_id")):
        return denied
    contact = data.get("contact")
    if not isinstance(contact, dict):
        return _error(400, "contact is required")
    phone_number = contact.get("phone_number")
    if not isinstance(phone_number, str) or not PHONE_NUMBER.fullmatch(phone_number):
        return _error(400, "contact.phone_number must be a Vietnamese number such as 0771122330")
    otp = contact.get("otp")
    if not isinstance(otp, str) or not OTP.fullmatch(otp):
        return _error(400, "contact.otp must be a non-empty string of digits")
    callback_url = data.get("callback_url") or ""
    if callback_url and not (
        isinstance(callback_url, str) and callback_url.startswith(("http://", "https://"))
    ):
        return _error(400, "callback_url must be an http or https URL")
    duplicated = fault is not None and fault.kind == "duplicate_callbacks"
    call = provider.place_call(
        campaign_id=campaign_id,
        user_id=constants.USER_ID,
        phone_number=phone_number,
        otp=otp,
        callback_url=callback_url,
        callback_copies=fault.params["copies"] if fault is not None and duplicated else 1,
        early_callback=fault is not None and fault.kind == "early_callback",
        received_at=request.META[RECEIVED_AT],
    )
    return _ok({"campaign_id": campaign_id, "call_id": call.call_id})


@_api_view("report", "GET")
def report(request: HttpRequest, fault: Fault | None, call_id: str) -> HttpResponse:
    if denied := _authenticate(request):
        return denied
    if denied := _check_user_id(request.GET.get("user_id")):
        return denied
    call = provider.find_call(call_id)
    if call is None:
        return _error(404, f"call {call_id} not found")
    return _ok(call.report_data(in_progress=fault is not None and fault.kind == "in_progress"))


# Control endpoints: not part of the provider's API, so neither recorded nor subject to faults.


@csrf_exempt
@require_http_methods(["GET"])
def calls(request: HttpRequest) -> JsonResponse:
    """Every call, newest first, OTP included on purpose: a demo page plays the phone's part."""
    phone_number = request.GET.get("phone_number")
    listing = [
        {
            "call_id": call.call_id,
            "campaign_id": call.campaign_id,
            "phone_number": call.phone_number,
            "otp": call.otp,
            "status": call.status if call.is_final() else "",
            "created": call.created.isoformat(),
            # Unix time its request arrived: the benchmarks measure the time to ring to it.
            "received_at": call.received_at,
            # One entry per callback posted: the HTTP status, or the exception's class name.
            "callback_responses": list(call.callback_responses),
        }
        for call in reversed(provider.calls)
        if phone_number is None or call.phone_number == phone_number
    ]
    return JsonResponse(listing, safe=False)


@csrf_exempt
@require_http_methods(["POST", "DELETE"])
def faults(request: HttpRequest) -> HttpResponse:
    """POST ``{"kind", "endpoint", "times", **params}`` queues a fault; DELETE clears them all."""
    if request.method == "DELETE":
        provider.clear_faults()
        return HttpResponse(status=204)
    data = _json_object(request)
    if data is None or not isinstance(data.get("kind"), str):
        return JsonResponse({"error": "expected a JSON object with a kind"}, status=400)
    try:
        provider.inject(data.pop("kind"), **data)
    except (TypeError, ValueError) as err:
        return JsonResponse({"error": str(err)}, status=400)
    return HttpResponse(status=204)


@csrf_exempt
@require_http_methods(["POST"])
def scripts(request: HttpRequest) -> HttpResponse:
    """POST ``{"phone_number", "outcomes": ["NOANWSER", "Success"]}``: the statuses the next calls
    to that number end with, in order; ``[]`` clears it. ``reset`` clears every script."""
    data = _json_object(request)
    if data is None or not isinstance(data.get("phone_number"), str):
        return JsonResponse({"error": "expected a JSON object with a phone_number"}, status=400)
    outcomes = data.get("outcomes")
    if not isinstance(outcomes, list):
        return JsonResponse({"error": "outcomes must be a list of statuses"}, status=400)
    try:
        provider.script(data["phone_number"], outcomes)
    except ValueError as err:
        return JsonResponse({"error": str(err)}, status=400)
    return HttpResponse(status=204)


@csrf_exempt
@require_http_methods(["POST"])
def reset(request: HttpRequest) -> HttpResponse:
    provider.reset()
    return HttpResponse(status=204)


@csrf_exempt
@require_http_methods(["GET"])
def requests_log(request: HttpRequest) -> JsonResponse:
    """How many API requests each endpoint received since the last reset, rejected ones included.

    Counts only: tests in other processes check "one token request", "one call per send" with it.
    """
    counts = dict.fromkeys(ENDPOINTS, 0)
    for recorded in provider.requests:
        counts[recorded.endpoint] += 1
    return JsonResponse({"counts": counts, "total": sum(counts.values())})


#: Settings the ``config`` endpoint may change, each with the smallest value it accepts.
CONFIG_MINIMUMS = {"call_duration": 0, "callback_delay": 0, "token_lifetime": 1}


@csrf_exempt
@require_http_methods(["GET", "POST"])
def config(request: HttpRequest) -> JsonResponse:
    """GET the behaviour settings; POST ``{"call_duration": 0.5, ...}`` changes the given ones."""
    if request.method == "POST":
        data = _json_object(request)
        if data is None:
            return JsonResponse({"error": "expected a JSON object"}, status=400)
        for key, value in data.items():
            if key == "expire_at_mode":
                continue  # configure() checks it
            minimum = CONFIG_MINIMUMS.get(key)
            if minimum is None:
                return JsonResponse({"error": f"unknown setting {key!r}"}, status=400)
            if isinstance(value, bool) or not isinstance(value, int | float) or value < minimum:
                return JsonResponse({"error": f"{key} must be a number >= {minimum}"}, status=400)
        try:
            provider.configure(**data)
        except ValueError as err:
            return JsonResponse({"error": str(err)}, status=400)
    return JsonResponse(dataclasses.asdict(provider.config))
