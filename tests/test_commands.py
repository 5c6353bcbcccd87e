"""voiceotp_send: its campaign guard and the admission gate; voiceotp_sweep, the sweeper by hand."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from django_voiceotp import send_otp, services
from django_voiceotp.models import Call, Campaign

pytestmark = pytest.mark.django_db(transaction=True)


def test_send_refuses_an_unknown_campaign(sandbox):
    with pytest.raises(CommandError, match="Unknown campaign 'nope'.*--create"):
        call_command("voiceotp_send", "0771122336", "--campaign", "nope")
    assert not Campaign.objects.filter(campaign_id="nope").exists()
    assert Call.objects.count() == 0
    assert sandbox.requests_for("voiceotp") == []


def test_send_uses_a_known_campaign(sandbox, capsys):
    sandbox.add_campaign("d9a01")
    Campaign.objects.create(campaign_id="d9a01", name="Sign-up")
    call_command("voiceotp_send", "0771122336", "--campaign", "d9a01")
    call = Call.objects.get()
    assert (call.campaign.campaign_id, call.status) == ("d9a01", Call.Status.SENT)
    assert f"Call {call.pk} to 077****336: sent" in capsys.readouterr().out


def test_send_accepts_the_default_campaign_before_it_is_stored(sandbox):
    call_command("voiceotp_send", "0771122336", "--campaign", "c78af")
    assert Call.objects.get().status == Call.Status.SENT


def test_send_passes_the_limits(sandbox, voiceotp):
    voiceotp(SENDS_PER_HOUR=1)
    call_command("voiceotp_send", "0771122336")
    with pytest.raises(CommandError, match=r"Too many codes requested \(site_hour\); retry in"):
        call_command("voiceotp_send", "0771122337")
    assert Call.objects.count() == 1
    assert len(sandbox.requests_for("voiceotp")) == 1


def test_send_refuses_a_number_the_site_does_not_call(sandbox, voiceotp):
    voiceotp(DENIED_PREFIXES=["+84771"])
    with pytest.raises(CommandError, match="cannot be called"):
        call_command("voiceotp_send", "0771122336")
    assert Call.objects.count() == 0
    assert sandbox.requests_for("voiceotp") == []


def test_send_creates_a_campaign_when_asked(sandbox):
    sandbox.add_campaign("e5b02")
    call_command("voiceotp_send", "0771122336", "--campaign", "e5b02", "--create")
    assert Campaign.objects.get(campaign_id="e5b02").is_active
    assert Call.objects.get().status == Call.Status.SENT


def test_sweep_sends_calls_whose_task_was_lost(sandbox, monkeypatch, time_machine, capsys):
    monkeypatch.setattr(services, "enqueue_send", lambda call_id: None)  # the broker was down
    stranded = [send_otp("0771122330", "482915"), send_otp("0771122331", "482915")]
    time_machine.move_to(timezone.now() + timedelta(seconds=61), tick=True)  # PENDING_GRACE
    call_command("voiceotp_sweep")
    assert "Swept: 0 call(s) expired, 2 sent again, 0 polled." in capsys.readouterr().out
    statuses = Call.objects.filter(pk__in=[call.pk for call in stranded]).values_list(
        "status", flat=True
    )
    assert list(statuses) == [Call.Status.SENT, Call.Status.SENT]
    assert len(sandbox.requests_for("voiceotp")) == 2


def test_sweep_expires_calls_too_old_to_send(sandbox, monkeypatch, time_machine, capsys):
    monkeypatch.setattr(services, "enqueue_send", lambda call_id: None)
    call = send_otp("0771122330", "482915")
    time_machine.move_to(timezone.now() + timedelta(seconds=301), tick=True)  # OTP_MAX_AGE
    call_command("voiceotp_sweep")
    assert "Swept: 1 call(s) expired, 0 sent again, 0 polled." in capsys.readouterr().out
    call.refresh_from_db()
    assert (call.status, call.failure_reason) == (Call.Status.FAILED, "expired")
    assert sandbox.requests_for("voiceotp") == []
