"""The health findings, the django-health-check plugin over them, and voiceotp_check's report."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.urls import path
from django.utils import timezone
from health_check.views import HealthCheckView

from django_voiceotp import health, limits, tasks
from django_voiceotp.models import Call, Campaign

from .test_failover import closed_port
from .test_stringee import entry

SECRET_KEY = "30511f666-f888-411b-a6e0-11111fb6gg7a"

#: This module is a URLconf too: the spending check alone, for @pytest.mark.urls(__name__).
urlpatterns = [
    path("spending/", HealthCheckView.as_view(checks=["django_voiceotp.contrib.health.Spending"]))
]


def pending_call(**fields) -> Call:
    campaign, _ = Campaign.objects.get_or_create(campaign_id="c78af")
    return Call.objects.create(campaign=campaign, phone_number="0771122330", **fields)


# -- the sweeper ---------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_sweeper_records_its_runs_and_is_late_past_sweeper_max_age(clock, voiceotp):
    voiceotp(SWEEPER_MAX_AGE=120)
    assert health.check_sweeper().status == health.WARNING  # no run on record yet
    tasks.poll_pending_calls()
    assert health.check_sweeper() == health.Finding("sweeper", health.OK, "last run 0 s ago")
    clock.shift(120)
    assert health.check_sweeper().status == health.OK
    clock.shift(1)
    late = health.check_sweeper()
    assert late.failed
    assert late.detail == "last run 121 s ago, more than SWEEPER_MAX_AGE (120 s)"


# -- the backlog ---------------------------------------------------------------------------------


@pytest.mark.django_db
def test_calls_pending_past_pending_grace_are_a_backlog(clock, voiceotp):
    voiceotp(PENDING_GRACE=60)
    now = timezone.now()
    pending_call(next_attempt_at=now - timedelta(seconds=60))  # due a minute: the sweeper's turn
    pending_call(next_attempt_at=now + timedelta(seconds=30))  # a retry not yet due
    pending_call(status=Call.Status.SENT, next_attempt_at=now - timedelta(days=1))
    assert health.check_backlog().status == health.OK
    pending_call(next_attempt_at=now - timedelta(seconds=61))
    backlog = health.check_backlog()
    assert backlog.failed and backlog.detail.startswith("1 call(s) pending")


# -- the provider --------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_the_provider_probe_uses_the_cached_token_and_is_remembered(sandbox, clock):
    assert health.check_provider() == health.Finding(
        "provider", health.OK, "reachable; the access token is accepted"
    )
    for _ in range(5):
        assert health.check_provider().status == health.OK
    assert len(sandbox.requests_for("report")) == 1  # one answer stands for every probe
    clock.shift(health.PROVIDER_PROBE_TTL + 1)
    assert health.check_provider().status == health.OK
    assert len(sandbox.requests_for("report")) == 2
    assert sandbox.token_requests == 1  # never a token per probe


@pytest.mark.django_db(transaction=True)
def test_the_provider_probe_fails_on_refused_credentials_without_showing_them(sandbox, voiceotp):
    voiceotp(SECRET_KEY="not-the-key")
    finding = health.probe_provider()
    assert finding.failed and "refused" in finding.detail
    assert "not-the-key" not in finding.detail


def test_the_provider_probe_fails_when_the_provider_cannot_be_reached():
    # The test settings point at sandbox.invalid, a name that never resolves.
    finding = health.probe_provider()
    assert finding.failed and "Could not reach the provider" in finding.detail


# -- each provider in use ------------------------------------------------------------------------

PITEL = "django_voiceotp.providers.pitel.PitelProvider"


@pytest.fixture
def failover_to(sandbox, live_server, voiceotp):
    """Pitel at the sandbox first, then the providers given, in FAILOVER."""

    def configure(**others):
        pitel = {"BACKEND": PITEL, "API_URL": f"{live_server.url}/sandbox/"}
        voiceotp(PROVIDERS={"pitel": pitel, **others}, FAILOVER=["pitel", *others])

    return configure


@pytest.mark.django_db(transaction=True)
def test_each_provider_of_failover_is_probed_and_one_down_is_a_warning(failover_to, sandbox):
    down = {"BACKEND": PITEL, "API_URL": f"http://127.0.0.1:{closed_port()}/"}
    failover_to(backup=down)
    finding = health.check_provider()
    assert finding.status == health.WARNING
    assert finding.detail.startswith("pitel: reachable; the access token is accepted; backup: ")
    assert "backup: Could not reach the provider (report)" in finding.detail
    assert len(sandbox.requests_for("report")) == 1


def test_every_provider_down_is_a_failure(voiceotp):
    down = {"BACKEND": PITEL, "API_URL": f"http://127.0.0.1:{closed_port()}/"}
    voiceotp(PROVIDERS={"pitel": down, "backup": down}, FAILOVER=["pitel", "backup"])
    finding = health.check_provider()
    assert finding.failed
    assert [part.split(":")[0] for part in finding.detail.split("; ")] == ["pitel", "backup"]


@pytest.mark.django_db(transaction=True)
def test_a_provider_that_answers_no_poll_is_not_asked_but_its_credentials_are_checked(
    failover_to, voiceotp
):
    stringee = entry(f"http://127.0.0.1:{closed_port()}")
    failover_to(stringee=stringee)
    assert health.check_provider() == health.Finding(
        "provider",
        health.OK,
        "pitel: reachable; the access token is accepted; "
        "stringee: credentials set; not asked (it reports by callback only)",
    )
    # Stringee alone, the default provider: no poll is asked of it (it has none).
    voiceotp(PROVIDERS={"stringee": stringee}, FAILOVER=None)
    assert health.probe_provider().status == health.OK
    del stringee["API_KEY_SECRET"]
    voiceotp(PROVIDERS={"stringee": stringee})
    finding = health.probe_provider()
    assert finding.failed and "['stringee']['API_KEY_SECRET'] is required" in finding.detail


# -- django-health-check -------------------------------------------------------------------------


@pytest.mark.urls("tests.urls_health")
@pytest.mark.django_db(transaction=True)
def test_the_health_check_plugin_reports_each_finding(client, sandbox, voiceotp):
    tasks.poll_pending_calls()
    healthy = client.get("/health/", {"format": "json"})
    assert healthy.status_code == 200
    assert healthy.json() == {"Provider()": "OK", "Sweeper()": "OK", "Backlog()": "OK"}

    voiceotp(PENDING_GRACE=60)
    pending_call(next_attempt_at=timezone.now() - timedelta(minutes=5))
    unhealthy = client.get("/health/", {"format": "json"})
    assert unhealthy.status_code == 500
    body = unhealthy.json()
    assert body["Provider()"] == "OK" and body["Sweeper()"] == "OK"
    assert body["Backlog()"] == (
        "Unavailable: 1 call(s) pending more than PENDING_GRACE (60 s) late"
    )


@pytest.mark.urls("tests.urls_health")
@pytest.mark.django_db(transaction=True)
def test_the_health_check_plugin_warns_of_a_sweeper_with_no_run_on_record(client, sandbox):
    body = client.get("/health/", {"format": "json"}).json()
    assert body["Sweeper()"].startswith("Warning: no run on record")
    assert SECRET_KEY not in json.dumps(body)


# -- voiceotp_check ------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_voiceotp_check_reports_the_sweeper_and_the_backlog(sandbox, capsys):
    tasks.poll_pending_calls()
    call_command("voiceotp_check")
    out = capsys.readouterr().out
    assert "✓ sweeper: last run 0 s ago" in out
    assert "✓ backlog: no call pending past PENDING_GRACE (60 s)" in out

    pending_call(next_attempt_at=timezone.now() - timedelta(minutes=5))
    with pytest.raises(CommandError, match="not being sent in time"):
        call_command("voiceotp_check")
    assert "✗ backlog: 1 call(s) pending" in capsys.readouterr().err


@pytest.mark.django_db(transaction=True)
def test_voiceotp_check_json_for_scripts(sandbox, capsys):
    tasks.poll_pending_calls()
    call_command("voiceotp_check", "--json")
    report = json.loads(capsys.readouterr().out)
    assert report["ok"] is True
    assert report["findings"] == {
        "provider": {"status": "ok", "detail": "access token obtained for user f461"},
        "sweeper": {"status": "ok", "detail": "last run 0 s ago"},
        "backlog": {"status": "ok", "detail": "no call pending past PENDING_GRACE (60 s)"},
        "spending": {
            "status": "ok",
            "detail": "site budget used: site_day 0/5000, site_hour 0/500, fallback_hour 0/200",
        },
    }
    assert all(message["level"] != "error" for message in report["checks"])

    pending_call(next_attempt_at=timezone.now() - timedelta(minutes=5))
    with pytest.raises(CommandError):
        call_command("voiceotp_check", "--json")
    report = json.loads(capsys.readouterr().out)
    assert report["ok"] is False and report["findings"]["backlog"]["status"] == "failed"
    assert SECRET_KEY not in json.dumps(report)


def test_voiceotp_check_json_reports_setting_errors(voiceotp, capsys):
    voiceotp(CALLBACK_BASE_URL="example.com")
    with pytest.raises(CommandError):
        call_command("voiceotp_check", "--json")
    report = json.loads(capsys.readouterr().out)
    assert report["ok"] is False and report["findings"] == {}
    levels = {message["id"]: message["level"] for message in report["checks"]}
    assert levels["django_voiceotp.E006"] == "error"


# -- database connections ------------------------------------------------------------------------


@pytest.mark.urls("tests.urls_health")
@pytest.mark.django_db(transaction=True)
def test_the_health_check_plugin_closes_the_connections_it_opens(
    client, sandbox, connections_opened_in_other_threads
):
    tasks.poll_pending_calls()
    pending_call(status=Call.Status.SENT)
    for _ in range(50):
        assert client.get("/health/", {"format": "json"}).status_code == 200
    # The checks ran in django-health-check's worker threads and used the database there.
    assert connections_opened_in_other_threads
    still_open = [c for c in connections_opened_in_other_threads if c.connection is not None]
    assert still_open == []


# -- spending ------------------------------------------------------------------------------------


def spend(count: int, kind: str = limits.CALL) -> None:
    for index in range(count):
        with limits.consume_follow_up(f"09012340{index:02d}", kind=kind):
            pass


def test_the_site_budget_is_reported_and_fails_once_reached(clock, voiceotp):
    voiceotp(SENDS_PER_HOUR=2, SENDS_PER_DAY=10, FALLBACKS_PER_HOUR=3)
    finding = health.check_spending()
    assert (finding.status, finding.detail) == (
        health.OK,
        "site budget used: site_day 0/10, site_hour 0/2, fallback_hour 0/3",
    )
    spend(1)
    spend(1, limits.FALLBACK)
    assert health.check_spending().detail == (
        "site budget used: site_day 1/10, site_hour 1/2, fallback_hour 1/3"
    )
    spend(1)
    assert health.check_spending().status == health.FAILED
    assert health.check_spending().detail == (
        "site budget reached: site_hour 2/2, resets in 2700 s"
    )
    clock.shift(timedelta(minutes=45))
    assert health.check_spending().status == health.OK


def test_a_paused_site_is_a_warning_and_no_budget_too(voiceotp):
    limits.pause_sending()
    assert health.check_spending().status == health.WARNING
    assert "sending is paused" in health.check_spending().detail
    limits.resume_sending()
    voiceotp(SENDS_PER_HOUR=0, SENDS_PER_DAY=None)
    assert health.check_spending() == health.Finding(
        "spending", health.WARNING, "no site budget for calls (SENDS_PER_HOUR/PER_DAY)"
    )


@pytest.mark.urls(__name__)
def test_the_health_check_plugin_reports_the_site_budget(client, clock, voiceotp):
    voiceotp(SENDS_PER_HOUR=1)
    assert client.get("/spending/", {"format": "json"}).json() == {"Spending()": "OK"}
    spend(1)
    unhealthy = client.get("/spending/", {"format": "json"})
    assert unhealthy.status_code == 500
    assert unhealthy.json() == {
        "Spending()": "Unavailable: site budget reached: site_hour 1/1, resets in 2700 s"
    }
