"""voiceotp_send: its campaign guard and the admission gate; voiceotp_sweep (the sweeper by
hand); what voiceotp_check reports of the site's budget and of a cache that fails."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from django_voiceotp import limits, send_otp
from django_voiceotp.models import Call, Campaign

from .recipes import free_port

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


def test_send_to_a_test_number_places_no_call(sandbox, voiceotp, capsys):
    voiceotp(TEST_NUMBERS={"+84 71 000 0001": "480913"})
    call_command("voiceotp_send", "+84710000001", "--otp", "123456")
    call = Call.objects.get()
    assert (call.is_test, call.status) == (True, Call.Status.SUCCESS)
    assert sandbox.requests_for("voiceotp") == []
    out = capsys.readouterr().out
    assert "a test number, no call placed" in out
    assert "480913" not in out and "123456" not in out


def test_send_creates_a_campaign_when_asked(sandbox):
    sandbox.add_campaign("e5b02")
    call_command("voiceotp_send", "0771122336", "--campaign", "e5b02", "--create")
    assert Campaign.objects.get(campaign_id="e5b02").is_active
    assert Call.objects.get().status == Call.Status.SENT


def test_sweep_sends_calls_whose_task_was_lost(sandbox, time_machine, capsys, lost_sends):
    stranded = [send_otp("0771122330", "482915"), send_otp("0771122331", "482915")]
    time_machine.move_to(timezone.now() + timedelta(seconds=61), tick=True)  # PENDING_GRACE
    call_command("voiceotp_sweep")
    assert "Swept: 0 call(s) expired, 2 sent again, 0 polled." in capsys.readouterr().out
    statuses = Call.objects.filter(pk__in=[call.pk for call in stranded]).values_list(
        "status", flat=True
    )
    assert list(statuses) == [Call.Status.SENT, Call.Status.SENT]
    assert len(sandbox.requests_for("voiceotp")) == 2


def test_sweep_expires_calls_too_old_to_send(sandbox, time_machine, capsys, lost_sends):
    call = send_otp("0771122330", "482915")
    time_machine.move_to(timezone.now() + timedelta(seconds=301), tick=True)  # OTP_MAX_AGE
    call_command("voiceotp_sweep")
    assert "Swept: 1 call(s) expired, 0 sent again, 0 polled." in capsys.readouterr().out
    call.refresh_from_db()
    assert (call.status, call.failure_reason) == (Call.Status.FAILED, "expired")
    assert sandbox.requests_for("voiceotp") == []


# -- voiceotp_check: the site's budget, a cache that fails ---------------------------------------


def test_check_reports_the_site_budget(sandbox, voiceotp, capsys):
    voiceotp(SENDS_PER_HOUR=1, SENDS_PER_DAY=10, FALLBACKS_PER_HOUR=3)
    call_command("voiceotp_check")
    out = capsys.readouterr().out
    assert "✓ spending: site budget used: site_day 0/10, site_hour 0/1, fallback_hour 0/3" in out

    call_command("voiceotp_check", "--json")
    report = json.loads(capsys.readouterr().out)
    assert report["findings"]["spending"] == {
        "status": "ok",
        "detail": "site budget used: site_day 0/10, site_hour 0/1, fallback_hour 0/3",
    }

    with limits.consume_follow_up("0901234000"):
        pass  # the hour's one call
    with pytest.raises(CommandError, match="budget refuses calls"):
        call_command("voiceotp_check")
    err = capsys.readouterr().err
    assert "✗ spending: site budget reached: site_hour 1/1, resets in" in err
    with pytest.raises(CommandError):
        call_command("voiceotp_check", "--json")
    report = json.loads(capsys.readouterr().out)
    assert report["ok"] is False and report["findings"]["spending"]["status"] == "failed"


def test_check_reports_a_database_cache_without_its_table_as_failed_lines(
    sandbox, voiceotp, settings, capsys
):
    # The health page's shared cache, before manage.py createcachetable has made its table.
    settings.CACHES = {
        **settings.CACHES,
        "shared": {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": "voiceotp_cache_not_created",
        },
    }
    voiceotp(TOKEN_CACHE_ALIAS="shared")
    with pytest.raises(CommandError, match="Could not obtain an access token"):
        call_command("voiceotp_check")
    captured = capsys.readouterr()
    for name in ("sweeper", "provider"):
        assert (
            f"✗ {name}: could not be checked: OperationalError: no such table: "
            "voiceotp_cache_not_created (the 'shared' cache is a database cache: its table is "
            "created by python manage.py createcachetable)"
        ) in captured.err
    assert "✓ backlog: no call pending" in captured.out
    assert "Traceback" not in captured.out + captured.err
    assert sandbox.token_requests == 0

    with pytest.raises(CommandError):
        call_command("voiceotp_check", "--json")
    findings = json.loads(capsys.readouterr().out)["findings"]
    assert findings["sweeper"]["status"] == findings["provider"]["status"] == "failed"
    assert "no such table: voiceotp_cache_not_created" in findings["sweeper"]["detail"]


def test_check_reports_a_cache_server_that_does_not_answer_as_a_failed_line(
    sandbox, voiceotp, settings, capsys
):
    # The limits' Redis, on a port nothing listens on.
    settings.CACHES = {
        **settings.CACHES,
        "limits": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{free_port()}/0",
        },
    }
    voiceotp(LIMITS_CACHE_ALIAS="limits")
    with pytest.raises(CommandError, match="budget refuses calls, or cannot be read"):
        call_command("voiceotp_check")
    captured = capsys.readouterr()
    assert "✗ spending: could not be checked: ConnectionError: " in captured.err
    assert "createcachetable" not in captured.err  # not a database cache
    assert "✓ provider: access token obtained" in captured.out
    assert "Traceback" not in captured.out + captured.err
