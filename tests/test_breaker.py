"""The circuit breaker per provider: opens after BREAKER_THRESHOLD unavailable outcomes in a row,
skips its provider for BREAKER_COOLDOWN, then lets one probe decide; shared through the cache."""

from __future__ import annotations

import io
import logging
import threading
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.urls import path, reverse
from health_check.views import HealthCheckView

from django_voiceotp import breaker, health, metrics

LOGGER = "django_voiceotp"

#: This module is a URLconf too: the breakers' check alone, for @pytest.mark.urls(__name__).
urlpatterns = [
    path("breakers/", HealthCheckView.as_view(checks=["django_voiceotp.contrib.health.Breakers"]))
]


@pytest.fixture
def settings_breaker(voiceotp):
    voiceotp(BREAKER_THRESHOLD=3, BREAKER_COOLDOWN=60)


def breaker_logs(caplog):
    return [r.getMessage() for r in caplog.records if "circuit breaker" in r.getMessage()]


def test_a_provider_opens_after_the_threshold_of_failures_in_a_row(settings_breaker, caplog):
    caplog.set_level(logging.WARNING, logger=LOGGER)
    for _ in range(2):
        breaker.failed("pitel")
    assert breaker.state("pitel").state == breaker.CLOSED
    assert breaker.allows("pitel")
    breaker.failed("pitel")
    assert breaker.state("pitel").state == breaker.OPEN
    assert not breaker.allows("pitel")
    assert breaker_logs(caplog) == [
        "Provider pitel: circuit breaker open for 60 s after 3 unavailable outcomes in a row."
    ]


def test_a_success_starts_the_count_again(settings_breaker):
    breaker.failed("pitel")
    breaker.failed("pitel")
    breaker.succeeded("pitel")
    breaker.failed("pitel")
    breaker.failed("pitel")
    assert breaker.state("pitel").state == breaker.CLOSED
    assert breaker.state("pitel").failures == 2


def test_each_provider_has_its_own_breaker(settings_breaker):
    for _ in range(3):
        breaker.failed("first")
    assert not breaker.allows("first")
    assert breaker.allows("second")


def test_after_the_cooldown_one_probe_goes_and_its_success_closes(settings_breaker, clock, caplog):
    for _ in range(3):
        breaker.failed("pitel")
    clock.shift(timedelta(seconds=59))
    assert not breaker.allows("pitel")
    clock.shift(timedelta(seconds=2))
    assert breaker.state("pitel").state == breaker.HALF_OPEN
    assert breaker.allows("pitel")  # the probe
    assert not breaker.allows("pitel")  # anyone else, while it runs
    caplog.clear()
    breaker.succeeded("pitel")
    breaker.succeeded("pitel")  # a second success changes nothing more, and logs nothing
    assert breaker.state("pitel") == breaker.BreakerState("pitel", breaker.CLOSED, 0)
    assert breaker.allows("pitel")
    assert breaker_logs(caplog) == ["Provider pitel: circuit breaker closed (a call was placed)."]


def test_a_failed_probe_opens_it_again_for_a_cooldown(settings_breaker, clock, caplog):
    for _ in range(3):
        breaker.failed("pitel")
    clock.shift(timedelta(seconds=61))
    assert breaker.allows("pitel")
    caplog.clear()
    breaker.failed("pitel")
    assert breaker.state("pitel").state == breaker.OPEN
    assert not breaker.allows("pitel")
    assert breaker_logs(caplog) == [
        "Provider pitel: circuit breaker open again for 60 s (the probe call failed)."
    ]
    clock.shift(timedelta(seconds=61))
    assert breaker.allows("pitel")  # the next cool-down is over: a new probe


def test_the_threshold_reached_at_once_by_many_threads_opens_and_logs_once(
    settings_breaker, caplog
):
    # The same cache, many writers: the count's incr is atomic, so exactly one of them
    # sees the threshold, opens the breaker and logs it.
    caplog.set_level(logging.WARNING, logger=LOGGER)
    start = threading.Barrier(12)

    def fail():
        start.wait()
        breaker.failed("pitel")

    threads = [threading.Thread(target=fail) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert breaker.state("pitel").state == breaker.OPEN
    assert len(breaker_logs(caplog)) == 1


def test_only_one_of_many_threads_probes_a_half_open_provider(settings_breaker, clock):
    for _ in range(3):
        breaker.failed("pitel")
    clock.shift(timedelta(seconds=61))
    start = threading.Barrier(12)
    allowed = []

    def ask():
        start.wait()
        allowed.append(breaker.allows("pitel"))

    threads = [threading.Thread(target=ask) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(allowed) == [False] * 11 + [True]


def test_a_threshold_of_zero_turns_the_breakers_off(voiceotp):
    voiceotp(BREAKER_THRESHOLD=0)
    for _ in range(10):
        breaker.failed("pitel")
    assert breaker.allows("pitel")
    assert breaker.state("pitel").state == breaker.CLOSED


def test_a_cache_that_cannot_share_a_count_turns_the_breakers_off(settings, voiceotp):
    settings.CACHES = {
        **settings.CACHES,
        "dummy": {"BACKEND": "django.core.cache.backends.dummy.DummyCache"},
    }
    voiceotp(LIMITS_CACHE_ALIAS="dummy")
    breaker.failed("pitel")
    assert breaker.allows("pitel")


@pytest.mark.django_db
def test_the_state_is_shown_by_the_check_the_health_check_and_the_metrics(
    settings_breaker, recording_provider
):
    for _ in range(3):
        breaker.failed("pitel")
    finding = health.check_breakers()
    assert (finding.name, finding.status) == ("providers", health.WARNING)
    assert "pitel" in finding.detail and "open" in finding.detail

    out = _voiceotp_check()
    assert "circuit breaker of pitel: open" in out

    metrics.provider_breakers(breaker.states())
    body, _ = metrics.exposition()
    assert b'voiceotp_provider_breaker_open{provider="pitel"} 1.0' in body

    breaker.reset("pitel")
    metrics.provider_breakers(breaker.states())
    body, _ = metrics.exposition()
    assert b'voiceotp_provider_breaker_open{provider="pitel"} 0.0' in body
    assert health.check_breakers().status == health.OK
    assert "circuit breaker of pitel: closed" in _voiceotp_check()


def _voiceotp_check() -> str:
    out = io.StringIO()
    call_command("voiceotp_check", stdout=out, stderr=io.StringIO())
    return out.getvalue()


def test_an_operator_opens_a_breaker_by_hand_and_resets_it(settings_breaker, caplog):
    breaker.trip("pitel")
    assert not breaker.allows("pitel")
    assert breaker_logs(caplog) == ["Provider pitel: circuit breaker opened by hand for 60 s."]
    breaker.reset("pitel")
    assert breaker.allows("pitel")


@pytest.mark.django_db
def test_the_admin_shows_each_breaker_and_warns_of_an_open_one(settings_breaker, admin_client):
    for _ in range(3):
        breaker.failed("pitel")
    listed = admin_client.get(reverse("admin:django_voiceotp_call_changelist"))
    assert "The circuit breaker of pitel is open: its calls go to the next provider" in (
        listed.content.decode()
    )
    page = admin_client.get(reverse("admin:django_voiceotp_call_sending")).content.decode()
    assert "<td>pitel</td><td>open</td>" in page
    breaker.reset("pitel")
    listed = admin_client.get(reverse("admin:django_voiceotp_call_changelist"))
    assert "circuit breaker" not in listed.content.decode()
    page = admin_client.get(reverse("admin:django_voiceotp_call_sending")).content.decode()
    assert "<td>pitel</td><td>closed</td>" in page


@pytest.mark.urls(__name__)
def test_the_health_check_plugin_warns_while_a_breaker_is_open(client, settings_breaker):
    assert client.get("/breakers/", {"format": "json"}).json() == {"Breakers()": "OK"}
    breaker.trip("pitel")
    warned = client.get("/breakers/", {"format": "json"})
    assert warned.json() == {
        "Breakers()": "Warning: circuit breaker of pitel: open (a probe in 60 s)"
    }
