"""Hostile requests to the callback door and what must hold for each, on SQLite and PostgreSQL.

Shared by ``tests/test_callbacks_hostile.py`` (SQLite) and
``tests/production/test_hostile_callbacks.py`` (PostgreSQL): each case is one request, with the
answer, the verdict, the reason and what the stored event and the call must look like.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from django.urls import reverse
from rest_framework.test import APIClient

from django_voiceotp.callback_urls import callback_token_for
from django_voiceotp.models import Call, CallbackEvent, Campaign

PROVIDER_CALL_ID = "88aa4744-d567-49fa-88b1-26e09da884a5"
KEYPRESS = "654321"
#: When the test call was placed: just before the start_time of ``report()`` (23:23 in Hanoi).
PLACED_AT = datetime(2020, 11, 10, 16, 23, tzinfo=UTC)
FORGED_TOKEN = "1:forged"
Verdict = CallbackEvent.Verdict
Reason = CallbackEvent.Reason


def report(**changes: Any) -> dict[str, Any]:
    body = {
        "call_id": PROVIDER_CALL_ID,
        "campaign_id": "c78af",
        "duration": 11,
        "keypress": KEYPRESS,
        "phone_number": "0771122330",
        "start_time": "2020-11-10 23:23:11",
        "status": "Success",
        "user_id": "f461",
    }
    return {**body, **changes}


def encoded(value: Any) -> bytes:
    return json.dumps(value).encode()


def make_call(**fields: Any) -> Call:
    campaign, _ = Campaign.objects.get_or_create(campaign_id="c78af")
    values = {
        "phone_number": "0771122330",
        "status": Call.Status.SENT,
        "provider_call_id": PROVIDER_CALL_ID,
        "created_at": PLACED_AT,
        **fields,
    }
    return Call.objects.create(campaign=campaign, **values)


def callback_path(call: Call | None) -> str:
    token = callback_token_for(call) if call is not None else FORGED_TOKEN
    return reverse("django_voiceotp:callback", kwargs={"token": token})


def post(call: Call | None, body: bytes, content_type="application/json", **headers):
    """POST ``body`` to ``call``'s callback URL (a forged one for None), as the provider would."""
    client = APIClient(enforce_csrf_checks=True)
    return client.generic(
        "POST", callback_path(call), data=body, content_type=content_type, **headers
    )


@dataclass(frozen=True)
class Case:
    id: str
    body: bytes
    status: int
    verdict: str
    reason: str
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)
    #: The call as the test creates it; ``pending`` is a call whose send task has not returned.
    call_fields: dict[str, Any] = field(default_factory=dict)
    #: What the call looks like after: status, and the fields given.
    call_after: dict[str, Any] = field(default_factory=lambda: {"status": "sent"})
    #: What the stored event's payload holds, if checked (after redaction and cleaning).
    payload: Any = None


UNUSABLE = "unusable"  # marks a payload not compared


#: Requests with a valid token: each is answered below 500 and stored as one event of its call.
VALID_TOKEN_CASES = [
    Case("deep-nesting", b"[" * 3000 + b"]" * 3000, 400, Verdict.MALFORMED, Reason.NOT_JSON),
    Case(
        "nan",
        b'{"call_id": "x", "status": "Success", "duration": NaN}',
        400,
        Verdict.MALFORMED,
        Reason.NOT_JSON,
    ),
    Case(
        "infinity",
        b'{"call_id": "x", "status": "Success", "duration": Infinity}',
        400,
        Verdict.MALFORMED,
        Reason.NOT_JSON,
    ),
    Case("minus-infinity", b'{"status": -Infinity}', 400, Verdict.MALFORMED, Reason.NOT_JSON),
    Case("float-overflow", b'{"status": 1e999}', 400, Verdict.MALFORMED, Reason.NOT_JSON),
    Case("not-utf8", b'{"status": "\xff\xfe"}', 400, Verdict.MALFORMED, Reason.NOT_JSON),
    Case(
        "nul-in-a-string",
        encoded(report(user_id="f\u0000461")),
        200,
        Verdict.APPLIED,
        Reason.APPLIED,
        call_after={"status": "success"},
        payload=report(user_id="f\ufffd461", keypress="[redacted]"),
    ),
    Case(
        "lone-surrogate",
        encoded(report(user_id="\ud800", **{"\udfff": 1})),
        200,
        Verdict.APPLIED,
        Reason.APPLIED,
        call_after={"status": "success"},
        payload=report(user_id="\ufffd", keypress="[redacted]", **{"\ufffd": 1}),
    ),
    Case(
        "nul-byte-in-a-form-body",
        b"status=Success\x00&keypress=654321",
        415,
        Verdict.MALFORMED,
        Reason.WRONG_CONTENT_TYPE,
        content_type="application/x-www-form-urlencoded",
    ),
    Case(
        "duration-negative", encoded(report(duration=-1)), 400, Verdict.MALFORMED, Reason.BAD_VALUE
    ),
    Case(
        "duration-huge", encoded(report(duration=10**20)), 400, Verdict.MALFORMED, Reason.BAD_VALUE
    ),
    Case(
        "duration-2-31", encoded(report(duration=2**31)), 400, Verdict.MALFORMED, Reason.BAD_VALUE
    ),
    Case("duration-bool", encoded(report(duration=True)), 400, Verdict.MALFORMED, Reason.BAD_VALUE),
    Case(
        "duration-largest",
        encoded(report(duration=2**31 - 1)),
        200,
        Verdict.APPLIED,
        Reason.APPLIED,
        call_after={"status": "success", "duration": 2**31 - 1},
    ),
    Case(
        "start-time-year-1",
        encoded(report(start_time="0001-01-01 00:00:00")),
        200,
        Verdict.APPLIED,
        Reason.APPLIED,
        call_after={"status": "success", "started_at": None, "duration": 11},
    ),
    Case(
        "start-time-year-9999-west",
        encoded(report(start_time="9999-12-31T23:59:59-12:00")),
        200,
        Verdict.APPLIED,
        Reason.APPLIED,
        call_after={"status": "success", "started_at": None},
    ),
    Case(
        "start-time-years-away",
        encoded(report(start_time="2031-01-01 00:00:00")),
        200,
        Verdict.APPLIED,
        Reason.APPLIED,
        call_after={"status": "success", "started_at": None},
    ),
    Case(
        "start-time-plausible",
        encoded(report()),
        200,
        Verdict.APPLIED,
        Reason.APPLIED,
        call_after={
            "status": "success",
            "started_at": datetime(2020, 11, 10, 16, 23, 11, tzinfo=UTC),
        },
    ),
    Case(
        "status-with-nul",
        encoded(report(status="Success\u0000")),
        400,
        Verdict.MALFORMED,
        Reason.BAD_VALUE,
    ),
    Case(
        "status-with-escape",
        encoded(report(status="ring\u001b[31m")),
        400,
        Verdict.MALFORMED,
        Reason.BAD_VALUE,
    ),
    Case(
        "status-too-long",
        encoded(report(status="F" * 65)),
        400,
        Verdict.MALFORMED,
        Reason.BAD_VALUE,
    ),
    Case(
        "call-id-with-nul",
        encoded(report(call_id=PROVIDER_CALL_ID + "\u0000")),
        400,
        Verdict.MALFORMED,
        Reason.BAD_VALUE,
    ),
    Case(
        "early-callback-call-id-300",
        encoded(report(call_id="a" * 300)),
        400,
        Verdict.MALFORMED,
        Reason.BAD_VALUE,
        call_fields={"status": Call.Status.PENDING, "provider_call_id": None},
        call_after={"status": "pending", "provider_call_id": None},
    ),
    Case(
        "early-callback-call-id-255",
        encoded(report(call_id="a" * 255)),
        200,
        Verdict.EARLY,
        Reason.EARLY,
        call_fields={"status": Call.Status.PENDING, "provider_call_id": None},
        # Kept, not applied: the provider has not said yet that this call_id is the call's.
        call_after={"status": "pending", "provider_call_id": None},
    ),
    *(
        Case(
            f"accept-{accept}",
            encoded(report()),
            200,
            Verdict.APPLIED,
            Reason.APPLIED,
            headers={"HTTP_ACCEPT": accept},
            call_after={"status": "success"},
        )
        for accept in ("text/html", "text/plain", "application/xml", "image/*;q=0.1")
    ),
    Case(
        "chunked-body",
        encoded(report()),
        411,
        Verdict.MALFORMED,
        Reason.LENGTH_REQUIRED,
        headers={"HTTP_TRANSFER_ENCODING": "chunked"},
    ),
]


#: Bodies that carry the passcode in some shape: none may be stored with it.
SECRET_BODIES = [
    ("form", b"hello=world&keypress=654321", "application/x-www-form-urlencoded"),
    ("form-capitalised", b"KeyPress=654321&status=Success", "application/x-www-form-urlencoded"),
    ("nested", encoded({"data": report(keypress=None, extra={"keypress": KEYPRESS})}), None),
    ("in-a-list", encoded([{"keypress": KEYPRESS}, {"Keypress": int(KEYPRESS)}]), None),
    ("capitalised", encoded(report(keypress=None, Keypress=KEYPRESS)), None),
    ("code-otp", encoded(report(code_otp=KEYPRESS)), None),
    ("additional-code-otp", encoded(report(additional={"code_otp": KEYPRESS})), None),
    ("in-a-string", encoded(report(note=f"keypress={KEYPRESS}")), None),
    ("broken-json", b'{"call_id": "x", "keypress": "654321"', None),
    ("xml", b"<call><keypress>654321</keypress></call>", "application/xml"),
]


UNSTORABLE_ON_POSTGRESQL = re.compile("[\x00\ud800-\udfff]")


def assert_storable_everywhere(event: CallbackEvent) -> None:
    """What PostgreSQL refuses in text and jsonb is nowhere in the event: no NUL, no surrogate."""
    stored = json.dumps(event.payload, ensure_ascii=False) + event.raw_body
    assert not UNSTORABLE_ON_POSTGRESQL.search(stored), ascii(stored[:200])
    assert "\\u0000" not in json.dumps(event.payload)


def assert_call_storable_everywhere(call: Call) -> None:
    """The call's provider values are what PostgreSQL stores and reads back."""
    if call.duration is not None:
        assert 0 <= call.duration <= 2**31 - 1
    if call.started_at is not None:
        assert 2000 <= call.started_at.year <= 2100
    for text in (call.provider_call_id or "", call.raw_status, call.failure_reason):
        assert not re.search("[\x00-\x1f\x7f\ud800-\udfff]", text), ascii(text)
        assert len(text) <= 255


def stored_text(event: CallbackEvent) -> str:
    return json.dumps(event.payload, ensure_ascii=False) + event.raw_body + event.reason


def run_valid_token_case(case: Case) -> tuple[Call, CallbackEvent]:
    """Post ``case`` to a fresh call's URL and check the answer and the one event stored."""
    call = make_call(**case.call_fields)
    response = post(call, case.body, content_type=case.content_type, **case.headers)
    assert response.status_code == case.status, response.content
    assert response["Content-Type"] == "application/json"
    assert response.json()["verdict"] == case.verdict
    event = CallbackEvent.objects.get(call=call)
    assert (event.verdict, event.reason, event.count) == (case.verdict, case.reason, 1)
    assert_storable_everywhere(event)
    if case.payload is not None:
        assert event.payload == case.payload
    call = Call.objects.get(pk=call.pk)  # the call still loads
    for name, value in case.call_after.items():
        assert getattr(call, name) == value, name
    assert_call_storable_everywhere(call)
    return call, event
