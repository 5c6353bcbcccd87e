"""Structured log lines: one per state change, with call id, campaign and masked phone."""

from __future__ import annotations

import logging

import pytest

from django_voiceotp import send_otp
from django_voiceotp.models import Call

pytestmark = pytest.mark.django_db(transaction=True)


def test_every_state_change_logs_call_campaign_and_masked_phone(sandbox, callbacks_to, caplog):
    caplog.set_level(logging.INFO, logger="django_voiceotp")
    call = send_otp("0771122330", "739164")
    assert sandbox.wait_for_callbacks()
    assert Call.objects.get(pk=call.pk).status == Call.Status.SUCCESS

    changes = [record for record in caplog.records if hasattr(record, "event")]
    assert [record.event for record in changes] == ["created", "pending → sent", "sent → success"]
    for record in changes:
        assert record.name == "django_voiceotp"
        assert (record.call_id, record.campaign, record.phone) == (call.pk, "c78af", "077****330")
        message = record.getMessage()
        assert f"Call {call.pk} " in message and "077****330" in message
        assert "0771122330" not in message and "739164" not in message
