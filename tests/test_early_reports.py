"""An early report (a callback before the provider's answer to the send) is matched to the call by
the id its provider's own format carries: Pitel's ``call_id``, Stringee's, or another backend's."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from django_voiceotp import sending
from django_voiceotp.models import Call, CallbackEvent
from django_voiceotp.provider_reports import CallReport, parse_report
from django_voiceotp.providers import get_provider
from django_voiceotp.providers.base import StartedCall
from django_voiceotp.providers.recording import RecordingProvider
from django_voiceotp.providers.stringee import StringeeProvider

from .test_stringee import entry

BASE = "https://app.example.com"
PHONE, OTP = "0771122330", "482916"


def post_early(callback_url: str | None, body: dict[str, Any]) -> None:
    """What a provider does that reports the call before it answers the request placing it."""
    assert callback_url is not None
    response = Client().post(
        callback_url.removeprefix(BASE), data=json.dumps(body), content_type="application/json"
    )
    assert (response.status_code, response.json()["verdict"]) == (200, "early")


class OwnKeyProvider(RecordingProvider):
    """A provider whose webhooks name the call ``uuid`` and its result ``state``, and which posts
    its report before answering."""

    def start_call(self, campaign_id, phone_number, otp, callback_url=None):
        started = super().start_call(campaign_id, phone_number, otp, callback_url)
        post_early(callback_url, {"uuid": "someone-else", "state": "busy"})  # another call's
        post_early(callback_url, {"uuid": started.call_id, "state": "Success"})
        return started

    def parse_webhook(self, payload: Any) -> CallReport:
        if not isinstance(payload, dict):
            return parse_report(payload)
        return parse_report({"call_id": payload.get("uuid"), "status": payload.get("state")})


class EarlyStringee(StringeeProvider):
    """Stringee, its ``ended`` event posted before its answer to ``call2/callout``."""

    def start_call(self, campaign_id, phone_number, otp, callback_url=None):
        event = {"call_id": "call-vn-1-EARLY", "call_status": "ended", "answerDuration": 8}
        post_early(callback_url, event)
        return StartedCall(call_id="call-vn-1-EARLY", campaign_id=str(campaign_id))


def send() -> Call:
    call = sending.send_otp(PHONE, OTP)
    sending.send_call(call.pk)
    call.refresh_from_db()
    return call


@pytest.mark.django_db
def test_an_early_report_is_matched_by_the_id_its_provider_s_format_carries(voiceotp):
    voiceotp(
        PROVIDERS={"own": {"BACKEND": "tests.test_early_reports.OwnKeyProvider"}},
        DEFAULT_CAMPAIGN="c1",
        CALLBACK_BASE_URL=BASE,
    )
    call = send()
    [placed] = get_provider("own").placed
    assert (call.status, call.provider_call_id) == (Call.Status.SUCCESS, placed.call_id)
    assert list(CallbackEvent.objects.order_by("pk").values_list("verdict", flat=True)) == [
        "early",  # another call's id: left as it came
        "applied",
    ]


@pytest.mark.django_db
def test_an_early_stringee_event_is_applied_when_the_answer_names_its_call(voiceotp):
    voiceotp(
        PROVIDERS={
            "stringee": entry(
                "https://api.stringee.invalid", BACKEND="tests.test_early_reports.EarlyStringee"
            )
        },
        CALLBACK_BASE_URL=BASE,
    )
    call = send()
    assert (call.status, call.provider_call_id, call.duration) == (
        Call.Status.SUCCESS,
        "call-vn-1-EARLY",
        8,
    )
    assert list(CallbackEvent.objects.values_list("verdict", flat=True)) == ["applied"]
