"""The demo page: ask for a call, watch it live, type the code the sandbox phone heard.

The code check here is deliberately simple (a keyed hash in the session, a few attempts, an
expiry): it shows how a host project uses ``send_otp``, not how to build a verification flow.
"""

from __future__ import annotations

import json
import secrets
import time

from django.http import HttpRequest, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from django_voiceotp import send_otp
from django_voiceotp.exceptions import InvalidPhoneNumber, VoiceOTPError
from django_voiceotp.models import Call

from . import superuser

SESSION_KEY = "voiceotp_demo"
CODE_DIGITS = 6
#: Seconds a code may be typed after it was requested.
CODE_TTL = 300
MAX_ATTEMPTS = 5


def index(request: HttpRequest):
    context = {
        "sandbox_calls_url": reverse("voiceotp_sandbox:calls"),
        "admin_url": reverse("admin:index"),
        "admin_calls_url": reverse("admin:django_voiceotp_call_changelist"),
        "strings": page_strings(),
        "code_digits": CODE_DIGITS,
        "demo_admin_username": superuser.USERNAME,
    }
    return render(request, "demo/index.html", context)


@require_POST
def start_call(request: HttpRequest) -> JsonResponse:
    phone_number = _body(request).get("phone_number", "")
    code = f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"
    try:
        call = send_otp(phone_number, code)
    except InvalidPhoneNumber:
        return JsonResponse(
            {"error": _("We cannot call this number. Try a Vietnamese mobile such as 0771122330.")},
            status=400,
        )
    except VoiceOTPError:
        return JsonResponse({"error": _("The call could not be placed. Try again.")}, status=503)
    request.session[SESSION_KEY] = {
        "call_id": call.pk,
        "code_hash": _hash(code),
        "expires_at": time.time() + CODE_TTL,
        "attempts": 0,
    }
    call.refresh_from_db()
    # The visitor's own number, as the provider dials it: the sandbox phone panel looks it up.
    return JsonResponse({**call_json(call), "phone_number": call.phone_number}, status=201)


@require_GET
def call_status(request: HttpRequest, call_id: int) -> JsonResponse:
    """The status of the visitor's own call; other calls are not theirs to see."""
    state = request.session.get(SESSION_KEY) or {}
    call = Call.objects.filter(pk=call_id).first()
    if call is None or state.get("call_id") != call_id:
        return JsonResponse({"error": _("No such call.")}, status=404)
    return JsonResponse(call_json(call))


@require_POST
def verify(request: HttpRequest) -> JsonResponse:
    state = request.session.get(SESSION_KEY) or {}
    if not state.get("code_hash"):
        return _refused(_("Ask for a call first."))
    if time.time() > state["expires_at"]:
        return _end_attempt(request, state, _("This code has expired. Ask for a new call."))
    code = str(_body(request).get("code", "")).strip()
    if constant_time_compare(_hash(code), state["code_hash"]):
        _end_attempt(request, state, "")
        return JsonResponse({"verified": True, "message": _("Verified: this number is yours.")})
    state["attempts"] += 1
    left = MAX_ATTEMPTS - state["attempts"]
    if left <= 0:
        return _end_attempt(request, state, _("Too many wrong codes. Ask for a new call."))
    request.session[SESSION_KEY] = state
    return _refused(_("That is not the code. Tries left: %(left)d.") % {"left": left})


def call_json(call: Call) -> dict:
    return {
        "id": call.pk,
        "status": call.status,
        "status_display": call.get_status_display(),
        "is_final": call.is_final,
        "provider_call_id": call.provider_call_id,
        "failure_reason": call.failure_reason,
        "explanation": explain(call),
    }


def explain(call: Call) -> str:
    """What the status means for the visitor, in their language."""
    if call.status == Call.Status.PENDING:
        return _("Waiting to be handed to the provider.")
    if call.status == Call.Status.SENT:
        return _("The provider is calling your phone.")
    if call.status == Call.Status.SUCCESS:
        return _("You answered and heard the code. Type it below.")
    reasons = {
        "Fail": _("The call failed."),
        "NOANWSER": _("Nobody answered."),
        "BUSY": _("The line was busy."),
        "timeout": _("No result came back in time."),
        "expired": _("The code was too old to be sent."),
    }
    return (
        reasons.get(call.failure_reason, _("The call did not go through."))
        + " "
        + _("Ask for a new call.")
    )


def page_strings() -> dict[str, str]:
    """Words the page's script shows, translated on the server."""
    return {
        "ringing": _("Incoming call…"),
        "answered": _("You answered. The voice says:"),
        "missed": _("The phone did not pick up"),
        "idle": _("No call yet."),
        "network": _("The demo server did not answer. Is it still running?"),
        "calling": _("Calling…"),
        "checking": _("Checking…"),
    }


def _hash(code: str) -> str:
    return salted_hmac("demo.code", code).hexdigest()


def _refused(message: str) -> JsonResponse:
    return JsonResponse({"verified": False, "error": message}, status=400)


def _end_attempt(request: HttpRequest, state: dict, message: str) -> JsonResponse:
    """Forget the code, so it is good once; the call stays the visitor's to watch."""
    request.session[SESSION_KEY] = {"call_id": state["call_id"]}
    return _refused(message)


def _body(request: HttpRequest) -> dict:
    if request.content_type == "application/json":
        try:
            data = json.loads(request.body)
        except ValueError:
            return {}
        return data if isinstance(data, dict) else {}
    return request.POST
