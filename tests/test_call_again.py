"""sending.call_again: the same passcode once more, as a new call, never twice at once."""

from __future__ import annotations

import pytest
from django.utils import timezone

from django_voiceotp import claims, sending
from django_voiceotp.exceptions import CallAgainRefused
from django_voiceotp.models import Call, Campaign
from django_voiceotp.sealing import open_otp, seal_otp

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def pending_call():
    campaign = Campaign.objects.create(campaign_id="c78af")
    return Call.objects.create(campaign=campaign, phone_number="0771122330", otp=seal_otp("739164"))


def test_nothing_is_placed_when_the_old_call_was_sent_meanwhile(
    pending_call, monkeypatch, enqueued
):
    real_send_otp = sending.send_otp

    def send_otp_while_the_provider_accepts_the_old_call(*args, **kwargs):
        new_call = real_send_otp(*args, **kwargs)
        Call.objects.filter(pk=pending_call.pk).update(status=Call.Status.SENT, otp="")
        return new_call

    monkeypatch.setattr(sending, "send_otp", send_otp_while_the_provider_accepts_the_old_call)
    with pytest.raises(CallAgainRefused, match="sent to the provider meanwhile"):
        sending.call_again(pending_call)
    assert list(Call.objects.values_list("pk", flat=True)) == [pending_call.pk]
    assert enqueued == []


def test_the_new_call_is_enqueued_and_the_old_one_replaced(pending_call, enqueued, signals):
    new_call = sending.call_again(pending_call)
    assert enqueued == [new_call.pk]
    assert (new_call.phone_number, open_otp(new_call.otp)) == ("0771122330", "739164")
    assert signals.names(pending_call.pk) == [
        ("changed", "pending", "failed"),
        ("failed", f"replaced by call {new_call.pk}"),
    ]


def test_a_claim_made_meanwhile_wins(pending_call, monkeypatch, enqueued):
    real_send_otp = sending.send_otp

    def send_otp_while_a_worker_claims_the_old_call(*args, **kwargs):
        new_call = real_send_otp(*args, **kwargs)
        claims.claim_send(Call.objects.get(pk=pending_call.pk), timezone.now())
        return new_call

    monkeypatch.setattr(sending, "send_otp", send_otp_while_a_worker_claims_the_old_call)
    with pytest.raises(CallAgainRefused, match="sent to the provider meanwhile"):
        sending.call_again(pending_call)
    assert list(Call.objects.values_list("pk", flat=True)) == [pending_call.pk]
