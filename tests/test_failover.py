"""Failover: a call one provider cannot place goes to the next of FAILOVER, with the same passcode,
as the same call; a call a provider may have placed never goes elsewhere."""

from __future__ import annotations

import socket

import pytest
from django.utils import timezone

from django_voiceotp import breaker, limits, sending
from django_voiceotp.checks import check_providers
from django_voiceotp.exceptions import ProviderRejected, ProviderUnavailable
from django_voiceotp.models import Call, Campaign
from django_voiceotp.providers import get_provider
from django_voiceotp.providers.recording import RecordingProvider

from .conftest import RECORDING_PROVIDER

PITEL = "django_voiceotp.providers.pitel.PitelProvider"
PHONE, OTP = "0771122330", "482916"


def refused(message="connection refused"):
    return ProviderUnavailable(message, placed_nothing=True)


@pytest.fixture
def two_providers(voiceotp):
    voiceotp(
        PROVIDERS={
            "first": {"BACKEND": RECORDING_PROVIDER, "DEFAULT_CAMPAIGN": "c1"},
            "second": {"BACKEND": RECORDING_PROVIDER, "DEFAULT_CAMPAIGN": "c2"},
        },
        FAILOVER=["first", "second"],
        BREAKER_THRESHOLD=3,
        BREAKER_COOLDOWN=60,
        SENDS_PER_HOUR=10,
    )
    first, second = get_provider("first"), get_provider("second")
    first.clear()
    second.clear()
    return first, second


def send() -> Call:
    call = sending.send_otp(PHONE, OTP)
    sending.send_call(call.pk)
    call.refresh_from_db()
    return call


@pytest.mark.django_db(transaction=True)
def test_a_call_the_first_provider_cannot_place_is_placed_at_the_next_with_its_passcode(
    two_providers, signals
):
    first, second = two_providers
    first.failures = [refused()]
    call = send()
    assert first.placed == []
    assert [(p.call_id, p.campaign_id, p.phone_number, p.otp) for p in second.placed] == [
        (call.provider_call_id, "c2", PHONE, OTP)
    ]
    # The same row: its provider and campaign are the second's, one call in the table.
    assert (call.status, call.provider, call.campaign.campaign_id) == ("sent", "second", "c2")
    assert Campaign.objects.get(campaign_id="c2").provider == "second"
    assert Call.objects.count() == 1
    assert signals.names(call.pk) == [("changed", "pending", "sent")]


@pytest.mark.django_db
def test_a_call_whose_campaign_belongs_to_the_next_provider_keeps_it(two_providers):
    first, second = two_providers
    first.failures = [refused()]
    shared = Campaign.objects.create(campaign_id="c1", provider="first")
    call = sending.send_otp(PHONE, OTP, campaign=shared)
    Campaign.objects.create(campaign_id="c2", provider="second")
    sending.send_call(call.pk)
    call.refresh_from_db()
    assert (call.provider, call.campaign.campaign_id) == ("second", "c2")


@pytest.mark.django_db
def test_an_unavailable_provider_that_may_have_placed_the_call_keeps_it(two_providers):
    # A timeout after the request was sent: the provider may be ringing the person. Another
    # provider would call them twice: the call is retried where it is, as without failover.
    first, second = two_providers
    first.failures = [ProviderUnavailable("timed out")]
    call = send()
    assert (call.status, call.provider, call.send_attempts) == ("pending", "first", 1)
    assert second.placed == []
    Call.objects.filter(pk=call.pk).update(next_attempt_at=timezone.now())
    sending.send_call(call.pk)
    call.refresh_from_db()
    assert (call.status, call.provider) == ("sent", "first")
    assert [p.otp for p in first.placed] == [OTP]
    assert second.placed == []


@pytest.mark.django_db(transaction=True)
def test_a_rejected_call_fails_and_is_not_placed_elsewhere(two_providers, signals):
    first, second = two_providers
    first.failures = [ProviderRejected("number refused")]
    call = send()
    assert (call.status, call.failure_code) == ("failed", Call.FailureCode.REJECTED)
    assert second.placed == []
    assert [name for name, *_ in signals.names(call.pk)].count("failed") == 1


@pytest.mark.django_db
def test_a_provider_whose_breaker_is_open_is_skipped(two_providers):
    first, second = two_providers
    for _ in range(3):
        breaker.failed("first")
    call = send()
    assert (call.status, call.provider) == ("sent", "second")
    assert first.placed == [] and first.failures == []
    assert [p.otp for p in second.placed] == [OTP]


@pytest.mark.django_db
def test_failures_open_the_breaker_and_its_probe_closes_it(two_providers, clock):
    first, second = two_providers
    first.failures = [refused() for _ in range(3)]
    for _ in range(3):
        assert send().provider == "second"
    assert breaker.state("first").state == breaker.OPEN
    assert send().provider == "second"  # skipped: the first was not asked
    assert first.failures == []
    clock.shift(61)
    assert send().provider == "first"  # the probe, placed: closed again
    assert breaker.state("first").state == breaker.CLOSED


@pytest.mark.django_db(transaction=True)
def test_when_no_provider_can_place_it_the_call_is_retried_then_fails_once(
    two_providers, voiceotp, signals
):
    voiceotp(SEND_MAX_RETRIES=1, BREAKER_THRESHOLD=0)
    first, second = get_provider("first"), get_provider("second")
    first.failures = [refused(), refused()]
    second.failures = [refused(), refused()]
    call = send()  # the eager queue runs the retry at once
    assert (call.status, call.failure_code) == ("failed", Call.FailureCode.PROVIDER_UNAVAILABLE)
    assert (call.provider, call.send_attempts) == ("second", 2)
    # Each attempt asked both, in order: the retry starts again at the call's provider, the
    # second, where the first attempt left it.
    assert len(first.failures) == 1
    assert second.failures == []
    assert first.placed == [] and second.placed == []
    assert [name for name, *_ in signals.names(call.pk)] == ["changed", "failed"]


class DuplicatedWhileRefusing(RecordingProvider):
    """Refuses the call; meanwhile a duplicated send job of the same call runs to its end."""

    def start_call(self, campaign_id, phone_number, otp, callback_url=None):
        self.duplicate_returned = sending.send_call(self.call_pk)
        raise refused()


@pytest.mark.django_db
def test_a_duplicated_send_job_during_failover_places_nothing(voiceotp):
    voiceotp(
        PROVIDERS={
            "first": {"BACKEND": "tests.test_failover.DuplicatedWhileRefusing"},
            "second": {"BACKEND": RECORDING_PROVIDER, "DEFAULT_CAMPAIGN": "c2"},
        },
        DEFAULT_CAMPAIGN="c1",
        FAILOVER=["first", "second"],
    )
    first, second = get_provider("first"), get_provider("second")
    second.clear()
    call = sending.send_otp(PHONE, OTP)
    first.call_pk = call.pk
    sending.send_call(call.pk)
    sending.send_call(call.pk)  # and one more, after it
    call.refresh_from_db()
    assert first.duplicate_returned is None  # the claim held it: nothing placed, no retry
    assert [p.call_id for p in second.placed] == [call.provider_call_id]
    assert (call.status, call.provider, call.send_attempts) == ("sent", "second", 1)


@pytest.mark.django_db
def test_a_failed_over_call_is_counted_once_by_the_limits(voiceotp, two_providers, clock):
    first, second = two_providers
    first.failures = [refused()]
    with limits.admit(PHONE) as number:
        call = sending.send_otp(number, OTP)
    sending.send_call(call.pk)
    call.refresh_from_db()
    assert call.provider == "second"
    assert next(use.used for use in limits.site_budget() if use.name == "site_hour") == 1


@pytest.mark.django_db
def test_without_failover_a_refusing_provider_keeps_its_call(recording_provider):
    recording_provider.failures = [refused()]
    call = send()
    assert (call.status, call.provider, call.send_attempts) == ("pending", "pitel", 1)


# -- two Pitel entries over real HTTP ------------------------------------------------------------


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def two_pitels(sandbox, live_server, voiceotp):
    def configure(first_url):
        sandbox.add_campaign("c2")
        voiceotp(
            PROVIDERS={
                "first": {"BACKEND": PITEL, "API_URL": first_url, "DEFAULT_CAMPAIGN": "c78af"},
                "second": {
                    "BACKEND": PITEL,
                    "API_URL": f"{live_server.url}/sandbox/",
                    "DEFAULT_CAMPAIGN": "c2",
                },
            },
            FAILOVER=["first", "second"],
        )

    return configure


@pytest.mark.django_db(transaction=True)
def test_a_pitel_that_refuses_connections_fails_over_to_the_next(two_pitels, sandbox):
    two_pitels(f"http://127.0.0.1:{closed_port()}/sandbox/")
    call = send()
    assert (call.status, call.provider) == ("sent", "second")
    assert [(c.call_id, c.campaign_id, c.otp) for c in sandbox.calls] == [
        (call.provider_call_id, "c2", OTP)
    ]


@pytest.mark.django_db(transaction=True)
def test_a_pitel_that_answers_5xx_fails_over_to_the_next(two_pitels, sandbox, live_server):
    two_pitels(f"{live_server.url}/sandbox/")
    sandbox.inject("http_error", endpoint="voiceotp", status=503)
    call = send()
    assert (call.status, call.provider) == ("sent", "second")
    assert [(c.campaign_id, c.otp) for c in sandbox.calls] == [("c2", OTP)]


@pytest.mark.django_db(transaction=True)
def test_a_pitel_that_times_out_after_the_request_keeps_the_call(
    two_pitels, sandbox, live_server, voiceotp
):
    two_pitels(f"{live_server.url}/sandbox/")
    voiceotp(TIMEOUT=(5.0, 0.3))
    sandbox.inject("slow", endpoint="voiceotp", seconds=1.0)
    call = send()
    # Retried where it was (at once, as the eager queue does): never at the second.
    assert call.provider == "first"
    assert [c.campaign_id for c in sandbox.calls] in (["c78af"], ["c78af", "c78af"])


@pytest.mark.django_db
def test_the_last_provider_is_tried_whatever_its_breaker_says(two_providers):
    first, second = two_providers
    for name in ("first", "second"):
        for _ in range(3):
            breaker.failed(name)
    call = send()
    assert (call.status, call.provider) == ("sent", "second")
    assert first.placed == []
    assert breaker.state("second").state == breaker.CLOSED  # it placed a call
    assert breaker.state("first").state == breaker.OPEN


# -- the setting -----------------------------------------------------------------------------------


def test_failover_names_providers_of_providers(voiceotp):
    voiceotp(
        PROVIDERS={"first": {"BACKEND": RECORDING_PROVIDER, "DEFAULT_CAMPAIGN": "c1"}},
        FAILOVER=["first", "stringee"],
    )
    errors = [error for error in check_providers() if error.id == "django_voiceotp.E062"]
    assert [error.msg for error in errors] == [
        "VOICEOTP['FAILOVER'] names 'stringee', which is not a provider "
        "(the providers are: 'first')."
    ]


@pytest.mark.parametrize("value", [[], "pitel", ["pitel", "pitel"], [1], {"pitel": 1}])
def test_a_malformed_failover_is_e062(voiceotp, value):
    voiceotp(FAILOVER=value)
    assert [error.id for error in check_providers()] == ["django_voiceotp.E062"]


@pytest.mark.parametrize(
    ("key", "value"),
    [("BREAKER_THRESHOLD", -1), ("BREAKER_COOLDOWN", 0), ("BREAKER_COOLDOWN", "x")],
)
def test_malformed_breaker_settings_are_e062(voiceotp, key, value):
    voiceotp(**{key: value})
    assert [error.id for error in check_providers()] == ["django_voiceotp.E062"]


def test_without_providers_failover_may_name_pitel_only(voiceotp):
    voiceotp(FAILOVER=["pitel"])
    assert check_providers() == []
    voiceotp(FAILOVER=["pitel", "other"])
    assert [error.id for error in check_providers()] == ["django_voiceotp.E062"]


@pytest.mark.django_db
def test_a_provider_without_a_campaign_for_the_call_is_passed_over(voiceotp):
    voiceotp(
        PROVIDERS={
            "first": {"BACKEND": RECORDING_PROVIDER, "DEFAULT_CAMPAIGN": "c1"},
            "second": {"BACKEND": RECORDING_PROVIDER},
            "third": {"BACKEND": RECORDING_PROVIDER, "DEFAULT_CAMPAIGN": "c3"},
        },
        DEFAULT_CAMPAIGN="",
        FAILOVER=["first", "second", "third"],
    )
    first, second, third = (get_provider(name) for name in ("first", "second", "third"))
    first.failures = [refused()]
    call = send()
    assert (call.status, call.provider, call.campaign.campaign_id) == ("sent", "third", "c3")
    assert second.placed == [] and [p.otp for p in third.placed] == [OTP]


@pytest.mark.django_db(transaction=True)
def test_a_pitel_whose_token_request_fails_fails_over(two_pitels, sandbox, live_server, voiceotp):
    # No call request was made: whatever became of the token request, nothing was placed.
    two_pitels(f"{live_server.url}/sandbox/")
    voiceotp(TIMEOUT=(5.0, 0.3))
    sandbox.inject("slow", endpoint="token", seconds=1.0)
    call = send()
    assert (call.status, call.provider) == ("sent", "second")
    assert [(c.campaign_id, c.otp) for c in sandbox.calls] == [("c2", OTP)]


@pytest.mark.django_db
def test_a_cache_that_fails_after_the_call_was_placed_still_marks_it_sent(
    two_providers, monkeypatch, caplog
):
    # Were the breaker's error to escape, the call would stay pending, and be placed again.
    first, second = two_providers

    def down(*args, **kwargs):
        raise ConnectionError("redis://:hunter2@cache.internal:6379")

    monkeypatch.setattr(breaker, "limits_cache", lambda: type("Down", (), {"__getattr__": down})())
    call = send()
    assert (call.status, call.provider) == ("sent", "first")
    assert [p.otp for p in first.placed] == [OTP]
    assert "the circuit breaker cannot be read or written: ConnectionError" in caplog.text
    assert "hunter2" not in caplog.text


# -- between Pitel and Stringee over real HTTP -----------------------------------------------------


@pytest.fixture
def stringee_and_pitel(sandbox, live_server, voiceotp):
    """Stringee's and Pitel's sandboxes on the live server; ``configure`` orders them and may
    point the first at a closed port."""
    from django_voiceotp.sandbox.stringee.state import exchange

    from .test_stringee import entry

    exchange.reset()
    exchange.event_delay = 0.02

    def configure(order, *, first_url=None):
        entries = {
            "stringee": entry(live_server.url, DEFAULT_CAMPAIGN="otp-stringee"),
            "pitel": {
                "BACKEND": PITEL,
                "API_URL": f"{live_server.url}/sandbox/",
                "DEFAULT_CAMPAIGN": "c78af",
            },
        }
        if first_url is not None:
            entries[order[0]]["API_URL"] = first_url
        voiceotp(
            PROVIDERS={name: entries[name] for name in order},
            FAILOVER=list(order),
            CALLBACK_BASE_URL=live_server.url,
        )

    yield configure, exchange
    exchange.reset()


@pytest.mark.django_db(transaction=True)
def test_a_stringee_that_refuses_connections_fails_over_to_pitel(stringee_and_pitel, sandbox):
    configure, exchange = stringee_and_pitel
    configure(["stringee", "pitel"], first_url=f"http://127.0.0.1:{closed_port()}/v1/")
    call = send()
    # In its first attempt: not by the retries that open Stringee's breaker.
    assert (call.status, call.provider, call.send_attempts) == ("sent", "pitel", 1)
    assert call.campaign.campaign_id == "c78af"
    assert [(c.call_id, c.otp) for c in sandbox.calls] == [(call.provider_call_id, OTP)]
    assert exchange.calls == []


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("status", [429, 503])
def test_a_stringee_that_answers_5xx_or_429_fails_over_to_pitel(
    stringee_and_pitel, sandbox, status
):
    configure, exchange = stringee_and_pitel
    configure(["stringee", "pitel"])
    exchange.inject("http_error", status=status)
    call = send()
    assert (call.status, call.provider, call.send_attempts) == ("sent", "pitel", 1)
    assert [c.otp for c in sandbox.calls] == [OTP]
    assert exchange.calls == [] and exchange.faults == []


@pytest.mark.django_db(transaction=True)
def test_a_stringee_that_times_out_after_the_request_keeps_the_call(
    stringee_and_pitel, sandbox, voiceotp
):
    configure, exchange = stringee_and_pitel
    configure(["stringee", "pitel"])
    voiceotp(TIMEOUT=(5.0, 0.3))
    exchange.inject("timeout", seconds=1.0)
    call = send()
    # Retried at Stringee (at once, as the eager queue does): never placed at Pitel.
    assert (call.status, call.provider) == ("sent", "stringee")
    assert sandbox.calls == []


@pytest.mark.django_db(transaction=True)
def test_a_pitel_that_refuses_connections_fails_over_to_stringee_with_the_same_passcode(
    stringee_and_pitel, sandbox
):
    configure, exchange = stringee_and_pitel
    configure(["pitel", "stringee"], first_url=f"http://127.0.0.1:{closed_port()}/sandbox/")
    call = send()
    assert (call.status, call.provider, call.send_attempts) == ("sent", "stringee", 1)
    assert call.campaign.campaign_id == "otp-stringee"
    placed = exchange.find(call.provider_call_id)
    assert placed.spoken[0].count(" ".join(OTP)) == 2  # the same passcode, heard at Stringee
    assert sandbox.calls == []
    assert exchange.wait_for_events()
    call.refresh_from_db()
    assert call.status == Call.Status.SUCCESS  # its events reach it through the one door


@pytest.mark.django_db(transaction=True)
def test_a_pitel_that_answers_5xx_fails_over_to_stringee(stringee_and_pitel, sandbox):
    configure, exchange = stringee_and_pitel
    configure(["pitel", "stringee"])
    sandbox.inject("http_error", endpoint="voiceotp", status=503)
    call = send()
    assert (call.status, call.provider, call.send_attempts) == ("sent", "stringee", 1)
    assert [placed.call_id for placed in exchange.calls] == [call.provider_call_id]
