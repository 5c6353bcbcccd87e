"""The eSMS.vn fallback sender: the delivery's passcode as an SMS, sent at most once.

``FALLBACK_SENDER = "django_voiceotp.senders.esms.send_sms"``, configured by ``VOICEOTP["ESMS"]``
(docs/sms-fallback.rst). What it relies on, from eSMS's developer documentation
(developers.esms.vn; its source: github.com/devesms/gitbook_esms_for_develop_v2, Vietnamese, and
devesms/gitbook_esms_for_develop_v2_en, English):

- "Send OTP/Customer care message" (esms-api/send-sms-api/send-otp-customer-care-message.md):
  ``POST https://rest.esms.vn/MainService.svc/json/SendMultipleMessage_V4_post_json/``, a JSON
  body of strings ``ApiKey``, ``SecretKey``, ``Phone``, ``Content``, ``Brandname``, ``SmsType``
  (``2`` customer care / OTP, from a registered brandname; ``8`` a fixed number, no brandname:
  "send-fixed-number-with-cheap-price.md"), ``IsUnicode`` (``1`` with diacritics), ``Sandbox``,
  ``RequestId`` ("to block duplicates", at most 50 characters, "valid for blocking for 24
  hours"), ``CallbackUrl``. Answers ``CodeResult`` ``"100"`` with ``SMSID``, or an error code
  with ``ErrorMessage``; the duplicate of a RequestId answers ``"124"``, "Request exist 1".
- "Table of error codes" (esms-api/table-of-error-codes.md, bang-ma-loi.md): 100 accepted (by
  eSMS, not yet by the phone), 99 number blocked, 101 wrong ApiKey or SecretKey, 102 no price
  list, 103 balance too low, 104 brandname not registered, 108 number malformed, 118 message type
  not supported, 124 duplicate RequestId, 140 IP not whitelisted, 143 account locked, 146
  template not registered, 177 network not registered, 201 blocked keyword, 300 no message type.
  None of them passes by itself within a passcode's life: each is final here, except 124.
- "Test environment (Sandbox)" (moi-truong-test-sandbox.md): ``Sandbox: "1"`` checks the request
  and answers it, but stores, charges and delivers nothing.
- "Callback Url" (esms-api/callback-url.md): the delivery report comes as an HTTP GET of the
  ``CallbackUrl`` with ``SMSID``, ``SendStatus``, ``SendSuccess``, ``SendFailed``,
  ``RequestId``...; eSMS signs nothing. "Get SMS by SMSID" (get-sms-by-smsid.md) gives the same
  by polling ``GetSendStatus?RefId=&ApiKey=&SecretKey=``.

Status comes by callback, not by polling: with ``CALLBACK_BASE_URL`` set, each message carries
a signed report URL (``esms_reports.py``), and the report is logged and stored on the call
(``fallback_delivery``). The SMSID eSMS gives is stored too (``fallback_message_id``): what a
GetSendStatus poll would ask by; this sender does not poll.

A retry (after a timeout: was it sent?) carries the same ``RequestId``, so eSMS answers 124 rather
than sending a second SMS; that answer counts as sent. Neither the passcode, the message, the
phone number in full nor a key is ever logged or put in an exception.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urljoin

import requests
from django.db import DatabaseError

from .. import __version__
from ..conf import voiceotp_settings
from ..conf.registry import is_http_url, non_empty_string, timeout
from ..exceptions import FallbackRejected, FallbackUnavailable
from ..models import Call
from .esms_reports import SMS_ID, report_url_for, store_delivery

logger = logging.getLogger("django_voiceotp")

#: FALLBACK_SENDER's value for this sender.
SENDER = "django_voiceotp.senders.esms.send_sms"
SEND_PATH = "MainService.svc/json/SendMultipleMessage_V4_post_json/"
ACCEPTED = "100"
DUPLICATE_REQUEST_ID = "124"
#: SmsType: 2 customer care / OTP (needs BRANDNAME), 8 a fixed number (none).
SMS_TYPES = ("2", "8")
#: eSMS's limit on a RequestId's length.
REQUEST_ID_MAX_LENGTH = 50

#: Every key of VOICEOTP["ESMS"], with its default.
DEFAULTS: dict[str, Any] = {
    "API_URL": "https://rest.esms.vn/",
    "API_KEY": None,
    "SECRET_KEY": None,
    "BRANDNAME": None,
    "SMS_TYPE": "2",
    "IS_UNICODE": False,
    "SANDBOX": False,
    "TIMEOUT": (5.0, 15.0),
    "MESSAGE": "Ma xac thuc cua ban la {code}. Khong chia se ma nay voi bat ky ai.",
}


def send_sms(*, phone_number: str, otp: str, call: Call) -> None:
    """Send ``otp`` to ``phone_number`` by SMS through eSMS, as FALLBACK_SENDER.

    :raises FallbackUnavailable: eSMS could not be reached, timed out or answered 5xx, 429 or
        garbage: the fallback is tried again, with the same RequestId.
    :raises FallbackRejected: eSMS refused the message for good (wrong keys, brandname, number).
    """
    config = esms_settings()
    body = {
        "ApiKey": config["API_KEY"],
        "SecretKey": config["SECRET_KEY"],
        "Phone": national_number(phone_number),
        "Content": config["MESSAGE"].format(code=otp),
        "SmsType": config["SMS_TYPE"],
        "IsUnicode": "1" if config["IS_UNICODE"] else "0",
        "Sandbox": "1" if config["SANDBOX"] else "0",
        "RequestId": request_id_for(call),
    }
    if config["BRANDNAME"]:
        body["Brandname"] = config["BRANDNAME"]
    report_url = report_url_for(call, body["RequestId"])
    if report_url:
        body["CallbackUrl"] = report_url
    answer = _post(urljoin(config["API_URL"], SEND_PATH), body, config["TIMEOUT"])
    code = str(answer.get("CodeResult", ""))
    if code == ACCEPTED:
        sms_id = str(answer.get("SMSID", ""))
        sms_id = sms_id if SMS_ID.fullmatch(sms_id) else ""  # stored: what a column holds only
        _note_accepted(call, sms_id)
        logger.info(
            "Call %s: SMS accepted by eSMS (SMSID %s%s).",
            call.pk,
            sms_id or "unknown",
            ", sandbox" if config["SANDBOX"] else "",
            extra={"call_id": call.pk, "event": "fallback_sms_accepted"},
        )
        return
    if code == DUPLICATE_REQUEST_ID:
        # An earlier attempt was sent, and its answer lost: eSMS refuses to send it twice.
        _note_accepted(call)
        logger.info(
            "Call %s: SMS already accepted by eSMS on an earlier attempt (RequestId %s).",
            call.pk,
            body["RequestId"],
            extra={"call_id": call.pk, "event": "fallback_sms_duplicate"},
        )
        return
    raise FallbackRejected(
        "eSMS refused the SMS",
        code=code or "none",
        provider_message=str(answer.get("ErrorMessage") or answer.get("error") or "")[:200],
    )


def _note_accepted(call: Call, sms_id: str = "") -> None:
    """Store that the message is on its way. The SMS is sent whatever becomes of this: a database
    error here is logged, not raised (raised, the fallback would be tried again for nothing)."""
    try:
        store_delivery(call.pk, Call.FallbackDelivery.WAITING, sms_id)
    except DatabaseError:
        logger.warning("Call %s: the fallback SMS's delivery could not be stored.", call.pk)


def request_id_for(call: Call) -> str:
    """The delivery's RequestId: the same on every attempt of its fallback, and unlike any other
    delivery's, even one of a database started afresh (the passcode's time is in it)."""
    return f"voiceotp-{call.pk}-{int(call.created_at.timestamp())}"[:REQUEST_ID_MAX_LENGTH]


def national_number(phone_number: str) -> str:
    """The number as eSMS's examples write it (0901888484), from either PHONE_FORMAT."""
    if phone_number.startswith("+84"):
        return "0" + phone_number[3:]
    return phone_number


def _post(url: str, body: dict[str, str], timeout_: Any) -> dict[str, Any]:
    headers = {"User-Agent": f"django-voiceotp/{__version__}"}
    try:
        response = requests.post(url, json=body, headers=headers, timeout=timeout_)
    except requests.Timeout as err:
        raise FallbackUnavailable("eSMS did not answer in time") from err
    except requests.RequestException as err:
        # The class only: a message may repeat the request.
        raise FallbackUnavailable(f"eSMS could not be reached ({type(err).__name__})") from err
    status = response.status_code
    if status >= 500 or status == 429:
        raise FallbackUnavailable("eSMS failed to answer", code=f"HTTP {status}")
    try:
        answer = response.json()
    except ValueError:
        answer = None
    if not isinstance(answer, dict):
        if status >= 400:
            raise FallbackRejected("eSMS refused the request", code=f"HTTP {status}")
        raise FallbackUnavailable("eSMS answered something that is not a JSON object")
    return answer


# -- settings ------------------------------------------------------------------------------------


def esms_settings() -> dict[str, Any]:
    """VOICEOTP["ESMS"] over its defaults.

    :raises FallbackRejected: not set, or malformed (check E061): final, since a configuration is
        not mended within a passcode's life. Its message names the setting, never a value.
    """
    configured = voiceotp_settings.ESMS
    if not configured or not valid_settings(configured):
        raise FallbackRejected(
            "VOICEOTP['ESMS'] is not set or malformed: see the ESMS setting", code="E061"
        )
    config = {**DEFAULTS, **configured}
    if isinstance(config["TIMEOUT"], list):
        config["TIMEOUT"] = tuple(config["TIMEOUT"])
    return config


def valid_settings(value: object) -> bool:
    """The ``ESMS`` check's predicate: every key known and well formed; or nothing set, while
    FALLBACK_SENDER is not this sender."""
    if not value:
        return voiceotp_settings.FALLBACK_SENDER != SENDER
    if not isinstance(value, dict) or not set(value) <= set(DEFAULTS):
        return False
    config = {**DEFAULTS, **value}
    message = config["MESSAGE"]
    return (
        is_http_url(config["API_URL"])
        and non_empty_string(config["API_KEY"])
        and non_empty_string(config["SECRET_KEY"])
        and config["SMS_TYPE"] in SMS_TYPES
        and (config["SMS_TYPE"] != "2" or non_empty_string(config["BRANDNAME"]))
        and (config["BRANDNAME"] is None or non_empty_string(config["BRANDNAME"]))
        and isinstance(config["IS_UNICODE"], bool)
        and isinstance(config["SANDBOX"], bool)
        and timeout(config["TIMEOUT"])
        and _valid_message(message, unicode=config["IS_UNICODE"])
    )


def _valid_message(message: object, *, unicode: bool) -> bool:
    """A text with one ``{code}`` and no other placeholder; ASCII unless IS_UNICODE."""
    if not isinstance(message, str) or message.count("{code}") != 1:
        return False
    try:
        message.format(code="0")
    except (KeyError, IndexError, ValueError):
        return False
    return unicode or message.isascii()
