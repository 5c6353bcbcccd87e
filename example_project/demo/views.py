"""The demo page: ask for a call, watch it live, type the code the sandbox phone heard.

The visitor chooses the provider that calls (each of ``PROVIDERS`` on its sandbox); the page
shows which one placed the call, which may be the next of ``FAILOVER`` when the first could not.
It uses the app's verification flow as a host project would: ``request_code`` places the call
under the abuse limits, ``check_code`` checks what the visitor types. The page says why a code
was refused; a public API should not (the app's own HTTP endpoints do not).
"""

from __future__ import annotations

import json
import math
from datetime import datetime

from django.http import HttpRequest, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.templatetags.static import static
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_GET, require_POST

from django_voiceotp import request_code
from django_voiceotp.conf import voiceotp_settings
from django_voiceotp.exceptions import InvalidPhoneNumber, RateLimited, VoiceOTPError
from django_voiceotp.limits.clients import client_ip
from django_voiceotp.models import Call, Campaign, Verification
from django_voiceotp.providers import get_provider, provider_entries
from django_voiceotp.verification import CheckResult, check_code

from . import superuser

SESSION_KEY = "voiceotp_demo"

#: The sandbox that plays the phone for each backend: its list of calls, and how to read it.
SANDBOX_PHONES = {
    "PitelProvider": ("pitel", "voiceotp_sandbox:calls"),
    "StringeeProvider": ("stringee", "voiceotp_stringee_sandbox:calls"),
}
#: Providers by their names in settings, as the page shows them.
PROVIDER_LABELS = {"pitel": "Pitel (TEL4VN)", "stringee": "Stringee"}


def providers() -> list[dict[str, str]]:
    """Each configured provider the demo can show a call of: its name, label and sandbox."""
    shown = []
    for name in provider_entries():
        phone = SANDBOX_PHONES.get(type(get_provider(name)).__name__)
        if phone is not None:
            kind, url_name = phone
            label = PROVIDER_LABELS.get(name, name)
            shown.append({"name": name, "label": label, "kind": kind, "calls": reverse(url_name)})
    return shown


def provider_label(name: str) -> str:
    return PROVIDER_LABELS.get(name, name)


def campaign_of(provider: str) -> Campaign:
    """The campaign of the provider's calls: its ``DEFAULT_CAMPAIGN``, belonging to it."""
    campaign_id = str(get_provider(provider).option("DEFAULT_CAMPAIGN"))
    campaign, _ = Campaign.objects.get_or_create(
        campaign_id=campaign_id, defaults={"name": campaign_id, "provider": provider}
    )
    return campaign


def index(request: HttpRequest):
    context = {
        "providers": providers(),
        "sms_url": reverse("voiceotp_esms_sandbox:messages"),
        "admin_url": reverse("admin:index"),
        "admin_calls_url": reverse("admin:django_voiceotp_call_changelist"),
        "strings": page_strings(),
        "demo_admin_username": superuser.USERNAME,
    }
    return render(request, "demo/index.html", context)


@require_POST
def start_call(request: HttpRequest) -> JsonResponse:
    body = _body(request)
    phone_number = body.get("phone_number", "")
    names = [provider["name"] for provider in providers()]
    provider = body.get("provider") or names[0]
    if provider not in names:
        return JsonResponse({"error": _("Choose one of the providers offered.")}, status=400)
    try:
        verification = request_code(
            phone_number, campaign=campaign_of(provider), client_ip=client_ip(request)
        )
    except InvalidPhoneNumber:
        return JsonResponse(
            {"error": _("We cannot call this number. Try a Vietnamese mobile such as 0771122330.")},
            status=400,
        )
    except RateLimited as refusal:
        seconds = refusal.retry_after
        if refusal.limit == "cooldown":
            # A short wait between two calls to one number, not a sign of abuse: the page
            # counts the seconds down.
            message = cooldown_template(seconds) % {"seconds": seconds}
        else:
            message = _("Too many calls to this number. Try again in %(seconds)d seconds.") % {
                "seconds": seconds
            }
        response = JsonResponse(
            {"error": message, "limit": refusal.limit, "retry_after": seconds}, status=429
        )
        response["Retry-After"] = str(refusal.retry_after)
        return response
    except VoiceOTPError:
        return JsonResponse({"error": _("The call could not be placed. Try again.")}, status=503)
    request.session[SESSION_KEY] = {
        "call_id": verification.call_id,
        "verification_id": str(verification.pk),
    }
    call = Call.objects.get(pk=verification.call_id)
    # The visitor's own number, as the provider dials it: the sandbox phone panel looks it up.
    return JsonResponse({**call_json(call), "phone_number": call.phone_number}, status=201)


@require_GET
def call_status(request: HttpRequest, call_id: int) -> JsonResponse:
    """Where the visitor's delivery stands: its latest call (a redial follows a call nobody
    answered), every call of it, and what comes next. Other deliveries are not theirs to see."""
    state = request.session.get(SESSION_KEY) or {}
    call = Call.objects.filter(pk=call_id).first()
    if call is None or state.get("call_id") != call_id:
        return JsonResponse({"error": _("No such call.")}, status=404)
    return JsonResponse(delivery_json(call))


@require_POST
def verify(request: HttpRequest) -> JsonResponse:
    state = request.session.get(SESSION_KEY) or {}
    verification = Verification.objects.filter(pk=state.get("verification_id")).first()
    if verification is None:
        return _refused(_("Ask for a call first."))
    code = str(_body(request).get("code", ""))
    result = check_code(verification.phone_number, code, verification=verification)
    if result is CheckResult.VERIFIED:
        return JsonResponse({"verified": True, "message": _("Verified: this number is yours.")})
    if result is CheckResult.WRONG_CODE:
        verification.refresh_from_db(fields=["attempts"])
        left = voiceotp_settings.MAX_ATTEMPTS - verification.attempts
        if left > 0:
            return _refused(_("That is not the code. Tries left: %(left)d.") % {"left": left})
        result = CheckResult.LOCKED  # that was the last try
    return _refused(str(REFUSALS.get(result, _("This code cannot be used. Ask for a new call."))))


#: Why a code was refused, for the visitor (the app's HTTP API does not say).
REFUSALS = {
    CheckResult.EXPIRED: gettext_lazy("This code has expired. Ask for a new call."),
    CheckResult.USED: gettext_lazy("This code was used already. Ask for a new call."),
    CheckResult.LOCKED: gettext_lazy("Too many wrong codes. Ask for a new call."),
    CheckResult.SUPERSEDED: gettext_lazy("A newer code was sent. Type the newest one."),
}


def call_json(call: Call) -> dict:
    return {
        "id": call.pk,
        "status": call.status,
        "status_display": call.get_status_display(),
        "is_final": call.is_final,
        "provider_call_id": call.provider_call_id,
        # Which provider placed it: the one chosen, or the next of FAILOVER.
        "provider": call.provider,
        "provider_display": provider_label(call.provider),
        "failure_reason": call.failure_reason,
        "explanation": explain(call),
    }


def delivery_json(first: Call, now: datetime | None = None) -> dict:
    """The delivery that began with ``first``, as the page follows it: its latest call at the
    top level, each call in ``attempts``, and whether anything is still to come (a redial
    waiting for its time, the fallback being sent) in ``delivery_over``."""
    attempts = delivery_calls(first)
    latest = attempts[-1]
    redial_in = None
    if latest.redial_of_id is not None and latest.status == Call.Status.PENDING:
        # Seconds until the redial is due; 0 once it is due or being handed to the provider
        # (whose lease, not the redial's time, is in next_attempt_at then).
        redial_in = 0
        if latest.send_attempts == 0 and latest.next_attempt_at is not None:
            left = (latest.next_attempt_at - (now or timezone.now())).total_seconds()
            redial_in = max(0, math.ceil(left))
    fallback_pending = latest.fallback_status in (
        Call.FallbackStatus.PENDING,
        Call.FallbackStatus.RUNNING,
    )
    return {
        **call_json(latest),
        "explanation": explain_delivery(attempts, redial_in),
        "attempt": latest.attempt,
        "attempts": [call_json(call) for call in attempts],
        "redial_in": redial_in,
        "fallback_status": latest.fallback_status,
        "fallback_sent": latest.fallback_status == Call.FallbackStatus.SENT,
        "delivery_over": latest.is_final and not fallback_pending,
    }


def delivery_calls(first: Call) -> list[Call]:
    """``first`` and the redials that followed it, in order (REDIAL_MAX bounds them).

    Read in one statement, so as of one moment on any database: a redial is created in the
    transaction that fails the call before it, and reads apart could see either without the
    other (a call still "sent" beside its redial, or failed with no redial yet). A delivery's
    calls share its phone number and its ``created_at``, which a redial keeps.
    """
    family = list(Call.objects.filter(phone_number=first.phone_number, created_at=first.created_at))
    redial_of = {call.redial_of_id: call for call in family if call.redial_of_id is not None}
    calls = [next((call for call in family if call.pk == first.pk), first)]
    while (redial := redial_of.get(calls[-1].pk)) is not None:
        calls.append(redial)
    return calls


def explain(call: Call) -> str:
    """What the status means for the visitor, in their language."""
    if call.status == Call.Status.PENDING:
        return _("Waiting to be handed to the provider.")
    if call.status == Call.Status.SENT:
        if call.attempt > 1:
            return _("The provider is calling your phone again.")
        return _("The provider is calling your phone.")
    if call.status == Call.Status.SUCCESS:
        return _("You answered and heard the code. Type it below.")
    return failure_reason(call) + " " + _("Ask for a new call.")


def failure_reason(call: Call) -> str:
    reasons = {
        "Fail": _("The call failed."),
        "NOANWSER": _("Nobody answered."),
        "BUSY": _("The line was busy."),
        # Stringee's words for the same, read from its call's end.
        "no_answer": _("Nobody answered."),
        "busy": _("The line was busy."),
        "call_failed": _("The call failed."),
        "timeout": _("No result came back in time."),
        "expired": _("The code was too old to be sent."),
    }
    return str(reasons.get(call.failure_reason, _("The call did not go through.")))


def explain_delivery(attempts: list[Call], redial_in: int | None) -> str:
    """What the latest call means, and what the server does next: the page must not say "ask
    for a new call" while a redial or the fallback is still to come."""
    latest = attempts[-1]
    if redial_in is not None:
        missed = failure_reason(attempts[-2])
        if redial_in > 0:
            next_step = redial_template(redial_in) % {"seconds": redial_in}
        else:
            next_step = _("We call you again now.")
        return f"{missed} {next_step}"
    if latest.status != Call.Status.FAILED:
        return explain(latest)
    fallback = latest.fallback_status
    if fallback in (Call.FallbackStatus.PENDING, Call.FallbackStatus.RUNNING):
        return failure_reason(latest) + " " + _("The code is being sent to you by SMS.")
    if fallback == Call.FallbackStatus.SENT:
        return (
            failure_reason(latest)
            + " "
            + _("The code was sent to you by SMS instead. Type it below.")
            + " "
            + _("(In this demo the sandbox phone shows the SMS.)")
        )
    return explain(latest)


def redial_template(seconds: int) -> str:
    """The wait before a redial, with ``%(seconds)d`` still to fill."""
    return ngettext(
        "We call you again in %(seconds)d second.",
        "We call you again in %(seconds)d seconds.",
        seconds,
    )


def cooldown_template(seconds: int) -> str:
    """The wait between two calls, with ``%(seconds)d`` still to fill: the script counts down."""
    return ngettext(
        "You asked for a call a moment ago. You can ask again in %(seconds)d second.",
        "You asked for a call a moment ago. You can ask again in %(seconds)d seconds.",
        seconds,
    )


def page_strings() -> dict[str, str]:
    """Words the page's script shows, translated on the server."""
    return {
        "ringing": _("Incoming call…"),
        "answered": _("You answered. The voice says:"),
        # What the phone saw, in words: the provider's own status ("NOANWSER") is for operators.
        "missed_unanswered": _("The phone rang; nobody picked up."),
        "missed_busy": _("The line was busy."),
        "missed": _("The call did not go through."),
        # The countdown's two forms, "%(seconds)d" replaced by the script (English and Vietnamese
        # need no other plural form).
        "cooldown_one": cooldown_template(1),
        "cooldown_other": cooldown_template(2),
        "idle": _("No call yet."),
        "network": _("The demo server did not answer. Is it still running?"),
        "calling": _("Calling…"),
        "checking": _("Checking…"),
        "sms": _("An SMS arrived:"),
    }


def favicon(request: HttpRequest) -> HttpResponseRedirect:
    """Browsers ask for /favicon.ico whatever the page links: send them to the demo's icon."""
    return HttpResponseRedirect(static("demo/favicon.svg"))


def _refused(message: str) -> JsonResponse:
    return JsonResponse({"verified": False, "error": message}, status=400)


def _body(request: HttpRequest) -> dict:
    if request.content_type == "application/json":
        try:
            data = json.loads(request.body)
        except ValueError:
            return {}
        return data if isinstance(data, dict) else {}
    return request.POST
