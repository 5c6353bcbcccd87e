"""Migration 0009 on PostgreSQL: a call's id is unique per provider, not across providers."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, connection, transaction

from django_voiceotp.models import Call, Campaign

pytestmark = pytest.mark.django_db(transaction=True)


def call_at(provider: str, provider_call_id: str | None) -> Call:
    campaign, _ = Campaign.objects.get_or_create(
        campaign_id=f"otp-{provider}", defaults={"provider": provider}
    )
    return Call.objects.create(
        campaign=campaign,
        provider=provider,
        phone_number="0771122330",
        status=Call.Status.SENT,
        provider_call_id=provider_call_id,
    )


def test_the_same_id_at_two_providers_is_stored_and_at_one_is_refused():
    assert connection.vendor == "postgresql"
    call_at("pitel", "call-0001")
    call_at("stringee", "call-0001")
    with pytest.raises(IntegrityError), transaction.atomic():
        call_at("pitel", "call-0001")
    call_at("pitel", None)
    call_at("pitel", None)
    assert Call.objects.filter(provider_call_id="call-0001").count() == 2


def test_a_look_up_by_the_id_alone_can_use_the_constraint_s_index():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexdef FROM pg_indexes WHERE indexname = 'voiceotp_call_provider_id_uniq'"
        )
        [(definition,)] = cursor.fetchall()
    assert "UNIQUE" in definition
    assert "(provider_call_id, provider)" in definition


def test_the_fallback_delivery_columns_hold_their_longest_values():
    call = call_at("pitel", "call-0002")
    Call.objects.filter(pk=call.pk).update(
        fallback_message_id="F" * 64, fallback_delivery=Call.FallbackDelivery.UNDELIVERED
    )
    call.refresh_from_db()
    assert (len(call.fallback_message_id), call.fallback_delivery) == (64, "undelivered")
