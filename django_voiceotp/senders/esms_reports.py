"""eSMS's delivery reports of fallback SMS: the URL each message carries, and the view it reaches.

eSMS reports a message's final status by an HTTP GET of the message's ``CallbackUrl`` and signs
nothing (developers.esms.vn, "Callback Url"): as for the voice calls' callbacks, a token signed
with the site's SECRET_KEY and naming the call is the URL's last segment, and the report must also
carry the delivery's own RequestId. A report is logged and stored on the call the fallback
belongs to (``Call.fallback_delivery``, with the message's SMSID in ``fallback_message_id``): its
fallback status stays ``sent`` (eSMS accepted the message); whether the phone received it is the
delivery's. The first delivered or refused report is final: a later or repeated one changes
nothing.
"""

from __future__ import annotations

import logging
import re
from datetime import timedelta

from django.conf import settings
from django.core import signing
from django.db.models import Case, F, Value, When
from django.http import HttpRequest, JsonResponse
from django.urls import NoReverseMatch, reverse
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.csrf import csrf_exempt

from ..conf import voiceotp_settings
from ..models import Call

Delivery = Call.FallbackDelivery

logger = logging.getLogger("django_voiceotp")

REPORT_TOKEN_SALT = "django_voiceotp.esms_report"
#: eSMS answers status queries for 7 days ("Get SMS by SMSID"): no report comes later than that.
REPORT_TOKEN_MAX_AGE = timedelta(days=7)
#: SendStatus: 1 in review, 2 waiting, 4 refused, 5 sent (then SendSuccess / SendFailed say how
#: it went), 7 sent to the operator, waiting for its report.
REFUSED, SENT = "4", "5"
COUNT = re.compile(r"[0-9]{1,6}")
#: What a report may carry as the message's id and status, before anything is logged.
SMS_ID = re.compile(r"[A-Za-z0-9-]{1,64}")
STATUS = re.compile(r"[0-9]{1,2}")


def report_url_for(call: Call, request_id: str) -> str:
    """The ``CallbackUrl`` of ``call``'s SMS; "" when results are only polled (no
    CALLBACK_BASE_URL) or django_voiceotp.urls is not included."""
    base = voiceotp_settings.CALLBACK_BASE_URL
    if not base:
        return ""
    token = _signer().sign(f"{call.pk}:{request_id}")
    try:
        path = reverse("django_voiceotp:esms-report", kwargs={"token": token})
    except NoReverseMatch:
        return ""
    return base.rstrip("/") + path


# Another method than GET gets its 405 whatever the cookies: no form posts here.
@method_decorator(csrf_exempt, name="dispatch")
class DeliveryReportView(View):
    """Log what eSMS reports of a fallback SMS; whatever comes, answer below 500 (GET only)."""

    http_method_names = ["get"]

    def get(self, request: HttpRequest, token: str) -> JsonResponse:
        try:
            signed = _signer().unsign(token, max_age=REPORT_TOKEN_MAX_AGE)
            call_id, request_id = signed.split(":", 1)
            call_pk = int(call_id)
        except (signing.BadSignature, ValueError):
            return JsonResponse({"detail": "Unknown report URL."}, status=404)
        query = request.GET
        if query.get("RequestId", "") != request_id:
            return JsonResponse({"detail": "This report is not for this message."}, status=403)
        sms_id, status = query.get("SMSID", ""), query.get("SendStatus", "")
        success, failed = query.get("SendSuccess", "0"), query.get("SendFailed", "0")
        if not (
            SMS_ID.fullmatch(sms_id)
            and STATUS.fullmatch(status)
            and COUNT.fullmatch(success)
            and COUNT.fullmatch(failed)
        ):
            return JsonResponse({"detail": "A malformed report."}, status=400)
        verdict = _verdict(status, int(success), int(failed))
        if not store_delivery(call_pk, verdict, sms_id):
            if not Call.objects.filter(pk=call_pk).exists():
                return JsonResponse({"detail": "Unknown report URL."}, status=404)
        extra = {"call_id": call_pk, "sms_id": sms_id, "send_status": status}
        if verdict == Delivery.DELIVERED:
            logger.info(
                "Call %s: the fallback SMS %s was delivered.",
                call_pk,
                sms_id,
                extra={**extra, "event": "fallback_sms_delivered"},
            )
        elif verdict == Delivery.UNDELIVERED:
            logger.warning(
                "Call %s: the fallback SMS %s was not delivered (SendStatus %s).",
                call_pk,
                sms_id,
                status,
                extra={**extra, "event": "fallback_sms_undelivered"},
            )
        # "pending", as this answer has always said of a message not yet delivered nor refused.
        return JsonResponse({"verdict": "pending" if verdict == Delivery.WAITING else verdict})


def _verdict(status: str, success: int, failed: int) -> str:
    """The delivery a report's SendStatus and counts say: delivered, not delivered, or waiting."""
    if status == SENT and success > 0:
        return Delivery.DELIVERED
    if status == REFUSED or (status == SENT and failed > 0):
        return Delivery.UNDELIVERED
    return Delivery.WAITING


def store_delivery(call_pk: int, delivery: str, sms_id: str = "") -> bool:
    """Store what the gateway says of the fallback message of the call ``call_pk``, unless a
    delivery or a refusal is stored already (final: a late or repeated report changes nothing).
    ``sms_id`` (checked against :data:`SMS_ID` by the caller) is kept if none is yet.

    False when nothing was stored: no such call, or its delivery was final already.
    """
    message_id = (
        Case(When(fallback_message_id="", then=Value(sms_id)), default=F("fallback_message_id"))
        if sms_id
        else F("fallback_message_id")
    )
    open_delivery = Call.objects.filter(pk=call_pk).exclude(
        fallback_delivery__in=Call.FINAL_DELIVERIES
    )
    return bool(open_delivery.update(fallback_delivery=delivery, fallback_message_id=message_id))


def _signer() -> signing.TimestampSigner:
    return signing.TimestampSigner(
        key=settings.SECRET_KEY,
        fallback_keys=list(settings.SECRET_KEY_FALLBACKS),
        salt=REPORT_TOKEN_SALT,
    )
