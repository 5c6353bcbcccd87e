"""A call's id at its provider is unique per provider: two providers may give the same id, and each
callback, poll and early report reaches the call of its own provider."""

from __future__ import annotations

import json

import pytest
from django.db import IntegrityError, transaction
from django.test import Client

from django_voiceotp import results
from django_voiceotp.callback_urls import callback_url_for
from django_voiceotp.models import Call, CallbackEvent, Campaign
from django_voiceotp.provider_reports import CallOutcome, CallReport
from django_voiceotp.providers import get_provider

from .conftest import RECORDING_PROVIDER
from .test_stringee import entry

SHARED_ID = "call-0001"
BASE = "https://app.example.com"


@pytest.fixture
def two_providers(voiceotp):
    voiceotp(
        PROVIDERS={
            "pitel": {"BACKEND": RECORDING_PROVIDER, "DEFAULT_CAMPAIGN": "c78af"},
            "stringee": entry("https://api.stringee.invalid"),
        },
        CALLBACK_BASE_URL=BASE,
    )
    get_provider("pitel").clear()


def sent_call(provider: str, phone_number: str, provider_call_id: str = SHARED_ID) -> Call:
    campaign, _ = Campaign.objects.get_or_create(
        campaign_id=f"otp-{provider}", defaults={"provider": provider}
    )
    return Call.objects.create(
        campaign=campaign,
        provider=provider,
        phone_number=phone_number,
        status=Call.Status.SENT,
        provider_call_id=provider_call_id,
    )


def post(call: Call, body: dict) -> int:
    path = callback_url_for(call).removeprefix(BASE)
    return Client().post(path, data=json.dumps(body), content_type="application/json").status_code


@pytest.mark.django_db
def test_two_providers_may_give_the_same_id_and_each_callback_reaches_its_own_call(
    two_providers,
):
    at_pitel = sent_call("pitel", "0771122330")
    at_stringee = sent_call("stringee", "0771122331")  # the same id: stored

    # Stringee's event reaches the Stringee call only; Pitel's report, the Pitel call only.
    event = {"call_id": SHARED_ID, "call_status": "ended", "endCallCause": "486 Busy Here"}
    assert post(at_stringee, event) == 200
    at_pitel.refresh_from_db()
    at_stringee.refresh_from_db()
    assert (at_stringee.status, at_stringee.raw_status) == ("failed", "busy")
    assert at_pitel.status == "sent"

    assert post(at_pitel, {"call_id": SHARED_ID, "status": "Success", "duration": 9}) == 200
    at_pitel.refresh_from_db()
    at_stringee.refresh_from_db()
    assert (at_pitel.status, at_pitel.duration) == ("success", 9)
    assert (at_stringee.status, at_stringee.raw_status) == ("failed", "busy")
    assert [(event.call_id, event.verdict) for event in CallbackEvent.objects.order_by("pk")] == [
        (at_stringee.pk, "applied"),
        (at_pitel.pk, "applied"),
    ]


@pytest.mark.django_db
def test_a_poll_asks_the_call_s_own_provider_by_its_id(two_providers):
    at_stringee = sent_call("stringee", "0771122331")
    at_pitel = sent_call("pitel", "0771122330")
    get_provider("pitel").reports[SHARED_ID] = CallReport(
        call_id=SHARED_ID, outcome=CallOutcome.SUCCESS, raw_status="Success"
    )
    results.poll_call(at_pitel.pk, force=True)
    at_pitel.refresh_from_db()
    at_stringee.refresh_from_db()
    assert at_pitel.status == "success"
    assert at_stringee.status == "sent"


@pytest.mark.django_db
def test_one_provider_still_gives_an_id_to_one_call_only(two_providers):
    sent_call("pitel", "0771122330")
    with pytest.raises(IntegrityError), transaction.atomic():
        sent_call("pitel", "0771122331")
    # Calls not yet accepted (no id) are many at each provider.
    for phone_number in ("0771122332", "0771122333"):
        sent_call("pitel", phone_number, provider_call_id=None)
    assert Call.objects.filter(provider_call_id__isnull=True).count() == 2
