"""The Stringee backend against its sandbox over loopback HTTP: the passcode read by text-to-speech,
the JWT, the call events to the one callback door, and every failure classified as the base says."""

from __future__ import annotations

import ast
import base64
import inspect
import json
import logging
from datetime import timedelta
from pathlib import Path

import pytest
import requests
from django.core.management import call_command

from django_voiceotp import sending
from django_voiceotp.callback_urls import callback_token_for
from django_voiceotp.checks import check_providers
from django_voiceotp.exceptions import (
    AuthenticationFailed,
    ImproperlyConfigured,
    ProviderRejected,
    ProviderUnavailable,
)
from django_voiceotp.models import Call, CallbackEvent, Campaign
from django_voiceotp.provider_reports import CallOutcome, InvalidReport
from django_voiceotp.providers import get_provider, stringee
from django_voiceotp.providers.stringee import StringeeProvider, mint_jwt
from django_voiceotp.sandbox import stringee as stringee_sandbox
from django_voiceotp.sandbox.stringee.state import exchange
from django_voiceotp.sandbox.stringee.views import token_problem

from .test_failover import closed_port

PHONE, OTP = "0771122330", "482916"
SPACED = "4 8 2 9 1 6"
BACKEND = "django_voiceotp.providers.stringee.StringeeProvider"


def entry(live_server_url: str, **options) -> dict:
    return {
        "BACKEND": BACKEND,
        "API_URL": f"{live_server_url}/stringee-sandbox/v1/",
        "API_KEY_SID": stringee_sandbox.API_KEY_SID,
        "API_KEY_SECRET": stringee_sandbox.API_KEY_SECRET,
        "FROM_NUMBER": stringee_sandbox.FROM_NUMBER,
        "DEFAULT_CAMPAIGN": "otp",
        **options,
    }


@pytest.fixture
def stringee_account(live_server, voiceotp):
    """Stringee the only provider, its sandbox served by the live server, events posted back."""
    exchange.reset()
    exchange.event_delay = 0.02
    voiceotp(PROVIDERS={"stringee": entry(live_server.url)}, CALLBACK_BASE_URL=live_server.url)
    yield exchange
    exchange.reset()


def sent_call() -> Call:
    call = sending.send_otp(PHONE, OTP)
    sending.send_call(call.pk)
    call.refresh_from_db()
    return call


def events_of(call: Call) -> list[tuple[str, str]]:
    return list(
        CallbackEvent.objects.filter(call=call).order_by("pk").values_list("verdict", "reason")
    )


# -- the JWT ------------------------------------------------------------------------------------


def test_the_token_is_the_documented_hs256_jwt_and_the_sandbox_accepts_it():
    token = mint_jwt("SK.1", "secret", now=1_000_000_000, lifetime=300)
    header, claims = (
        json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
        for part in token.split(".")[:2]
    )
    assert header == {"typ": "JWT", "alg": "HS256", "cty": "stringee-api;v=1"}
    assert claims == {
        "jti": "SK.1-1000000000",
        "iss": "SK.1",
        "exp": 1_000_000_300,
        "rest_api": True,
    }


def test_a_token_is_minted_once_and_again_only_near_its_expiry(time_machine):
    time_machine.move_to("2026-12-03 10:00:00+00:00", tick=False)
    provider = StringeeProvider("stringee", entry("http://stringee.invalid"))
    first = provider.access_token()
    assert token_problem(first) == ""  # the sandbox, written apart, verifies it
    time_machine.shift(
        timedelta(seconds=stringee.TOKEN_LIFETIME - stringee.TOKEN_REFRESH_MARGIN - 1)
    )
    assert provider.access_token() == first
    time_machine.shift(timedelta(seconds=2))
    second = provider.access_token()
    assert second != first and token_problem(second) == ""
    assert "secret" not in repr(provider).lower() and first not in repr(provider)


def test_the_sandbox_refuses_a_token_signed_with_another_secret_or_expired():
    other = mint_jwt(stringee_sandbox.API_KEY_SID, "not-the-secret", now=2_000_000_000, lifetime=60)
    assert "signature" in token_problem(other)
    old = mint_jwt(
        stringee_sandbox.API_KEY_SID, stringee_sandbox.API_KEY_SECRET, now=1, lifetime=60
    )
    assert "expired" in token_problem(old)


# -- the call -----------------------------------------------------------------------------------


def test_the_talk_action_reads_the_digits_spaced_twice_with_the_voice_and_speed_chosen():
    provider = StringeeProvider(
        "stringee", entry("http://stringee.invalid", VOICE="hcm_male_manhdung", SPEED=-2)
    )
    body = provider.callout_body(PHONE, OTP, "https://app.example/cb/t/")
    [talk] = body["actions"]
    assert talk["action"] == "talk"
    assert talk["text"].count(SPACED) == 2 and OTP not in talk["text"]
    assert (talk["voice"], talk["speed"]) == ("hcm_male_manhdung", -2)
    assert body["to"] == [{"type": "external", "number": "84771122330", "alias": "84771122330"}]
    assert body["from"]["number"] == stringee_sandbox.FROM_NUMBER
    assert body["event_url"] == "https://app.example/cb/t/"


def test_a_message_of_one_s_own_is_read_with_the_digits_and_must_hold_them():
    provider = StringeeProvider(
        "stringee", entry("http://x.invalid", MESSAGE="Ma {digits} {not a field} {digits}")
    )
    [talk] = provider.callout_body(PHONE, OTP)["actions"]
    assert talk["text"] == f"Ma {SPACED} {{not a field}} {SPACED}"
    without = StringeeProvider("stringee", entry("http://x.invalid", MESSAGE="No code here"))
    with pytest.raises(ImproperlyConfigured, match=r"\['MESSAGE'\]"):
        without.callout_body(PHONE, OTP)


@pytest.mark.parametrize("echo", [OTP, SPACED, "4-8-2-9-1-6"])
def test_a_provider_message_echoing_the_digits_is_cut_from_the_error(echo):
    response = requests.Response()
    response.status_code = 200
    response._content = json.dumps({"r": 3, "message": f"Bad text: {echo}"}).encode()
    with pytest.raises(ProviderRejected) as refused:
        StringeeProvider("stringee", {})._parse(response, "call2/callout")
    assert "<digits>" in str(refused.value) and "2 9" not in str(refused.value)
    assert "829" not in str(refused.value) and "8-2" not in str(refused.value)


@pytest.mark.django_db(transaction=True)
def test_a_code_sent_through_stringee_is_heard_and_its_events_make_the_call_a_success(
    stringee_account, caplog
):
    caplog.set_level(logging.DEBUG)
    call = sent_call()
    assert (call.provider, call.status) == ("stringee", Call.Status.SENT)
    placed = stringee_account.find(call.provider_call_id)
    assert placed.to_number == "84771122330"
    assert placed.spoken[0].count(SPACED) == 2  # the person hears the passcode, twice

    assert stringee_account.wait_for_events()
    assert placed.events == [("ringing", "200"), ("answered", "200"), ("ended", "200")]
    call.refresh_from_db()
    assert call.status == Call.Status.SUCCESS
    assert events_of(call) == [
        ("in_progress", "in_progress"),
        ("applied", "applied"),
        ("duplicate", "already_final"),
    ]
    assert OTP not in caplog.text and SPACED not in caplog.text


@pytest.mark.django_db(transaction=True)
def test_a_busy_line_is_not_reached_and_redialled(stringee_account, voiceotp):
    voiceotp(REDIAL_MAX=1, REDIAL_DELAY=20)
    stringee_account.script("84771122330", ["busy"])
    call = sent_call()
    assert stringee_account.wait_for_events()
    assert [status for status, _ in stringee_account.find(call.provider_call_id).events] == [
        "ringing",
        "ended",
    ]
    call.refresh_from_db()
    assert (call.status, call.failure_code) == ("failed", Call.FailureCode.NOT_REACHED)
    redial = Call.objects.get(redial_of=call)
    assert redial.provider == "stringee"


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("outcome", ["no_answer", "failed"])
def test_nobody_answering_or_a_failed_call_is_not_reached(stringee_account, outcome):
    stringee_account.script("84771122330", [outcome])
    call = sent_call()
    assert stringee_account.wait_for_events()
    call.refresh_from_db()
    assert (call.status, call.failure_code) == ("failed", Call.FailureCode.NOT_REACHED)


@pytest.mark.django_db(transaction=True)
def test_a_bad_secret_fails_the_call_at_once(stringee_account, voiceotp, live_server, caplog):
    voiceotp(PROVIDERS={"stringee": entry(live_server.url, API_KEY_SECRET="wrong-secret-0001")})
    call = sent_call()
    assert (call.status, call.failure_code) == ("failed", Call.FailureCode.REJECTED)
    assert stringee_account.calls == []
    assert "wrong-secret" not in caplog.text


@pytest.mark.django_db(transaction=True)
def test_a_503_is_retried_and_the_retry_places_the_call(stringee_account):
    stringee_account.inject("http_error", status=503)
    call = sent_call()  # eager mode: the retry runs at once, as Celery's eager retry() does
    assert (call.status, call.send_attempts) == (Call.Status.SENT, 2)
    assert stringee_account.faults == []  # the first attempt met the 503
    assert [placed.call_id for placed in stringee_account.calls] == [call.provider_call_id]


@pytest.mark.django_db(transaction=True)
def test_each_failure_is_classified_as_the_base_says(stringee_account, voiceotp, live_server):
    provider = get_provider("stringee")
    stringee_account.inject("bad_token")
    with pytest.raises(AuthenticationFailed) as refused:
        provider.start_call("otp", PHONE, OTP)
    stringee_account.inject("http_error", status=429)
    with pytest.raises(ProviderUnavailable):
        provider.start_call("otp", PHONE, OTP)
    voiceotp(TIMEOUT=0.3)
    stringee_account.inject("timeout", seconds=1.0)
    with pytest.raises(ProviderUnavailable, match="timed out") as timed_out:
        get_provider("stringee").start_call("otp", PHONE, OTP)
    for error in (refused.value, timed_out.value):
        assert OTP not in str(error) and SPACED not in str(error)
        assert stringee_sandbox.API_KEY_SECRET not in str(error)
    assert stringee_account.calls == []


# -- call events: the normalised reports, and hostile bodies at the door -------------------------


ENDED = "ended"
FAILED, IN_PROGRESS, SUCCESS = CallOutcome.FAILED, CallOutcome.IN_PROGRESS, CallOutcome.SUCCESS


@pytest.mark.parametrize(
    ("status", "extra", "outcome", "raw_status"),
    [
        ("created", {}, IN_PROGRESS, "created"),
        ("ringing", {}, IN_PROGRESS, "ringing"),
        ("agentEnded", {}, IN_PROGRESS, "agentEnded"),
        ("answered", {}, SUCCESS, "answered"),
        (ENDED, {"answerDuration": 9, "endCallCause": "200 OK"}, SUCCESS, "answered"),
        (ENDED, {"endCallCause": "486 Busy Here"}, FAILED, "busy"),
        (ENDED, {"endCallCause": "480 Temporarily Unavailable"}, FAILED, "no_answer"),
        (ENDED, {"endCallCause": "404 Not Found"}, FAILED, "call_failed"),
        (ENDED, {"endCallCause": "NORMAL_CLEARING"}, FAILED, "ended"),
    ],
)
def test_call_events_become_the_app_s_reports(status, extra, outcome, raw_status):
    provider = StringeeProvider("stringee", {})
    event = {"call_id": "call-vn-1-X", "call_status": status, "answerDuration": 0, **extra}
    report = provider.parse_webhook(event)
    assert (report.call_id, report.outcome, report.raw_status) == (
        "call-vn-1-X",
        outcome,
        raw_status,
    )
    assert provider.is_not_reached(raw_status) == (
        raw_status in ("busy", "no_answer", "call_failed")
    )


@pytest.mark.parametrize(
    "payload",
    [
        [],
        "ended",
        {"call_status": "ended"},
        {"call_id": "x", "call_status": "exploded"},
        {"call_id": "x", "call_status": 5},
        {"call_id": "x" * 300, "call_status": "ended"},
        {"call_id": "x\x00", "call_status": "ended"},
        {"call_id": "x", "call_status": "ended", "answerDuration": 10**20},
    ],
)
def test_an_event_that_is_no_report_is_invalid(payload):
    with pytest.raises(InvalidReport):
        StringeeProvider("stringee", {}).parse_webhook(payload)


@pytest.mark.django_db(transaction=True)
def test_hostile_and_odd_events_get_a_4xx_and_are_recorded(stringee_account, live_server):
    campaign = Campaign.objects.create(campaign_id="otp", provider="stringee")
    call = Call.objects.create(
        campaign=campaign,
        provider="stringee",
        phone_number=PHONE,
        status=Call.Status.SENT,
        provider_call_id="call-vn-1-WAITING-1",
    )
    url = f"{live_server.url}/voiceotp/callbacks/{callback_token_for(call)}/"
    json_headers = {"Content-Type": "application/json"}

    def post(body: bytes) -> int:
        return requests.post(url, data=body, headers=json_headers, timeout=5).status_code

    statuses = [
        post(b"{not json"),
        post(json.dumps({"call_id": call.provider_call_id, "call_status": "exploded"}).encode()),
        post(json.dumps({"call_id": "call-vn-1-OTHER", "call_status": "answered"}).encode()),
        post(b'["ended"]'),
        post(b"[" * 5000 + b"]" * 5000),
        post(b'{"call_status": "' + b"x" * 2_000_000 + b'"}'),
    ]
    assert statuses == [400, 400, 400, 400, 400, 413]
    assert events_of(call) == [
        ("malformed", "not_json"),
        ("malformed", "bad_value"),
        ("mismatch", "call_id_mismatch"),
        ("malformed", "not_report"),
        ("malformed", "not_json"),
        ("too_large", "too_large"),
    ]
    call.refresh_from_db()
    assert call.status == Call.Status.SENT


# -- the boundaries -----------------------------------------------------------------------------


def test_the_backend_knows_no_models_and_the_sandbox_shares_no_code_with_it():
    tree = ast.parse(inspect.getsource(stringee))
    imported = {node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert not {name for name in imported if name.endswith("models")}
    folder = Path(stringee_sandbox.__file__).parent
    for module in folder.glob("*.py"):
        for node in ast.walk(ast.parse(module.read_text())):
            if isinstance(node, ast.ImportFrom):
                # Its own modules only (one level up at most: the package itself).
                assert node.level == 1 or not (node.module or "").startswith("django_voiceotp")
            elif isinstance(node, ast.Import):
                assert not any(alias.name.startswith("django_voiceotp") for alias in node.names)


# -- the check and voiceotp_check ---------------------------------------------------------------


def test_a_stringee_entry_without_its_secret_is_e060_and_no_message_shows_a_value(voiceotp):
    incomplete = entry("https://api.stringee.example")
    del incomplete["API_KEY_SECRET"]
    incomplete["API_KEY_SID"] = "SK.s3cret-sid"
    voiceotp(PROVIDERS={"stringee": incomplete})
    errors = check_providers()
    assert [error.id for error in errors] == ["django_voiceotp.E060"]
    assert "['stringee']['API_KEY_SECRET']" in errors[0].msg
    assert "s3cret" not in errors[0].msg
    voiceotp(PROVIDERS={"stringee": entry("https://api.stringee.example")})
    assert check_providers() == []


@pytest.mark.django_db
def test_voiceotp_check_signs_a_token_and_shows_no_secret(stringee_account, capsys):
    call_command("voiceotp_check")
    out = capsys.readouterr().out
    assert "provider: stringee (StringeeProvider)" in out
    assert stringee_sandbox.API_KEY_SID in out
    assert stringee_sandbox.API_KEY_SECRET not in out


# -- what proves nothing was placed: the failures a call may fail over on -------------------------


def test_a_refused_connection_placed_nothing(voiceotp):
    voiceotp(PROVIDERS={"stringee": entry(f"http://127.0.0.1:{closed_port()}")})
    with pytest.raises(ProviderUnavailable) as unavailable:
        get_provider("stringee").start_call("otp", PHONE, OTP)
    assert unavailable.value.placed_nothing is True


def test_a_connect_timeout_placed_nothing(voiceotp, monkeypatch):
    voiceotp(PROVIDERS={"stringee": entry("http://stringee.invalid")})

    def connect_timeout(*args, **kwargs):
        raise requests.ConnectTimeout("connect timed out")

    monkeypatch.setattr(stringee, "get_session", lambda: type("S", (), {"post": connect_timeout}))
    with pytest.raises(ProviderUnavailable, match="timed out") as unavailable:
        get_provider("stringee").start_call("otp", PHONE, OTP)
    assert unavailable.value.placed_nothing is True


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("status", [429, 500, 503])
def test_a_5xx_or_429_answer_placed_nothing(stringee_account, status):
    stringee_account.inject("http_error", status=status)
    with pytest.raises(ProviderUnavailable) as unavailable:
        get_provider("stringee").start_call("otp", PHONE, OTP)
    assert unavailable.value.placed_nothing is True
    assert unavailable.value.http_status == status
    assert stringee_account.calls == []


@pytest.mark.django_db(transaction=True)
def test_a_timeout_after_the_request_was_sent_may_have_placed_the_call(stringee_account, voiceotp):
    voiceotp(TIMEOUT=(5.0, 0.3))
    stringee_account.inject("timeout", seconds=1.0)
    with pytest.raises(ProviderUnavailable, match="timed out") as unavailable:
        get_provider("stringee").start_call("otp", PHONE, OTP)
    assert unavailable.value.placed_nothing is False


@pytest.mark.parametrize("body", [b"<html>ok</html>", b'{"message": "no r"}', b'{"r": 0}'])
def test_an_answer_under_2xx_without_a_call_may_have_placed_it(voiceotp, monkeypatch, body):
    voiceotp(PROVIDERS={"stringee": entry("http://stringee.invalid")})
    response = requests.Response()
    response.status_code = 200
    response._content = body
    monkeypatch.setattr(
        stringee, "get_session", lambda: type("S", (), {"post": lambda *a, **k: response})
    )
    with pytest.raises(ProviderUnavailable) as unavailable:
        get_provider("stringee").start_call("otp", PHONE, OTP)
    assert unavailable.value.placed_nothing is False


def test_an_entry_without_its_secret_names_the_key_when_used(voiceotp):
    # Stringee's own options have no flat VOICEOTP key to fall back on: the missing one is named.
    incomplete = entry("http://stringee.invalid")
    del incomplete["API_KEY_SECRET"]
    voiceotp(PROVIDERS={"stringee": incomplete})
    with pytest.raises(ImproperlyConfigured, match=r"\['stringee'\]\['API_KEY_SECRET'\]"):
        get_provider("stringee").start_call("otp", PHONE, OTP)
