"""ProviderClient: exact error shapes with `responses`, and the real thing against the sandbox."""

from __future__ import annotations

import json
import logging
import socket
import threading
import time
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import pytest
import requests
import requests.utils
import responses
from django.core.cache import cache

from django_voiceotp.client import ProviderClient
from django_voiceotp.exceptions import (
    AuthenticationFailed,
    ImproperlyConfigured,
    InvalidOTP,
    InvalidPhoneNumber,
    ProviderRejected,
    ProviderUnavailable,
)
from django_voiceotp.provider_reports import CallOutcome

from .conftest import SANDBOX_SECRET_KEY

API = "http://provider.test/"
TOKEN_URL = API + "api/v1/users/generate_access_token"
VOICEOTP_URL = API + "api/v1/campaigns/c78af/voiceotp"
REPORT_URL = API + "api/v1/report/call-1"
TOKEN = "tok-abcdef-123456"
OTP = "482915"


def token_body(access_token=TOKEN, expire_at=15552000):
    return {
        "message": "OK",
        "code": 200,
        "status": True,
        "data": {
            "id": SANDBOX_SECRET_KEY,
            "user_id": "f461",
            "access_token": access_token,
            "refresh_token": "",
            "expire_at": expire_at,
            "token_type": "Bearer",
            "scope": "member",
        },
    }


def ok_call_body():
    return {
        "message": "OK",
        "code": 200,
        "status": True,
        "data": {"campaign_id": "c78af", "call_id": "call-1"},
    }


def error_body(code, message, detail="detail of error"):
    return {"messsage": message, "code": code, "status": False, "data": {"error": detail}}


@pytest.fixture
def mocked(voiceotp):
    voiceotp(API_URL=API)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield rsps


def start(client=None):
    return (client or ProviderClient()).start_call("c78af", "0771122330", OTP)


# -- configuration ------------------------------------------------------------------------------


@pytest.mark.parametrize("key", ["API_URL", "SECRET_KEY"])
def test_missing_required_setting_is_named_on_first_use(settings, key):
    settings.VOICEOTP = {k: v for k, v in settings.VOICEOTP.items() if k != key}
    client = ProviderClient()  # constructing is fine: settings are read on use
    with pytest.raises(ImproperlyConfigured, match=key):
        client.get_access_token()


def test_bad_auth_scheme_is_a_configuration_error(mocked, voiceotp):
    voiceotp(AUTH_SCHEME="Token")
    mocked.post(TOKEN_URL, json=token_body())
    with pytest.raises(ImproperlyConfigured, match="AUTH_SCHEME"):
        start()


def test_invalid_input_raises_before_any_request(mocked):
    with pytest.raises(InvalidPhoneNumber):
        ProviderClient().start_call("c78af", "12345", OTP)
    with pytest.raises(InvalidOTP):
        ProviderClient().start_call("c78af", "0771122330", "12ab")
    assert len(mocked.calls) == 0


# -- the token ----------------------------------------------------------------------------------


def test_token_is_sent_raw_by_default(mocked):
    mocked.post(TOKEN_URL, json=token_body())
    mocked.post(VOICEOTP_URL, json=ok_call_body())
    assert start().call_id == "call-1"
    assert mocked.calls[1].request.headers["Authorization"] == TOKEN
    sent = json.loads(mocked.calls[1].request.body)
    assert sent == {"user_id": "f461", "contact": {"phone_number": "0771122330", "otp": OTP}}


def test_bearer_scheme_is_a_setting(mocked, voiceotp):
    voiceotp(AUTH_SCHEME="Bearer")
    mocked.post(TOKEN_URL, json=token_body())
    mocked.post(VOICEOTP_URL, json=ok_call_body())
    start()
    assert mocked.calls[1].request.headers["Authorization"] == f"Bearer {TOKEN}"


def test_expire_at_as_duration(mocked):
    mocked.post(TOKEN_URL, json=token_body(expire_at=15552000))
    token = ProviderClient().get_access_token()
    assert token.expires_at == pytest.approx(time.time() + 15552000, abs=5)


def test_expire_at_as_epoch(mocked):
    epoch = int(time.time()) + 7200
    mocked.post(TOKEN_URL, json=token_body(expire_at=epoch))
    assert ProviderClient().get_access_token().expires_at == epoch


def test_token_is_refreshed_a_margin_before_expiry(mocked, voiceotp, time_machine):
    voiceotp(TOKEN_REFRESH_MARGIN=600)
    time_machine.move_to(datetime(2026, 1, 1, tzinfo=UTC), tick=False)
    mocked.post(TOKEN_URL, json=token_body(expire_at=3600))
    client = ProviderClient()
    client.get_access_token()
    client.get_access_token()
    assert len(mocked.calls) == 1
    # LocMemCache expires entries by time.time(), which time-machine moves.
    time_machine.shift(3600 - 600 + 1)
    client.get_access_token()
    assert len(mocked.calls) == 2


def test_refused_secret_key_is_not_asked_again_at_once(mocked):
    mocked.post(TOKEN_URL, status=401, json=error_body(401, "Unauthorized", "invalid secret_key"))
    with pytest.raises(AuthenticationFailed):
        ProviderClient().get_access_token()
    with pytest.raises(AuthenticationFailed, match="recently"):
        ProviderClient().get_access_token()
    assert len(mocked.calls) == 1


def test_refresh_once_on_401_then_retry(mocked):
    mocked.post(TOKEN_URL, json=token_body("old"))
    mocked.post(TOKEN_URL, json=token_body("new"))
    mocked.post(VOICEOTP_URL, status=401, json=error_body(401, "Unauthorized"))
    mocked.post(VOICEOTP_URL, json=ok_call_body())
    client = ProviderClient()
    assert start(client).call_id == "call-1"
    auth = [c.request.headers.get("Authorization") for c in mocked.calls]
    assert auth == [None, "old", None, "new"]
    assert client.get_access_token().access_token == "new"


def test_a_second_401_is_authentication_failed_not_a_loop(mocked):
    mocked.post(TOKEN_URL, json=token_body())
    mocked.post(VOICEOTP_URL, status=401, json=error_body(401, "Unauthorized"))
    with pytest.raises(AuthenticationFailed):
        start()
    assert [c.request.url for c in mocked.calls].count(VOICEOTP_URL) == 2
    assert [c.request.url for c in mocked.calls].count(TOKEN_URL) == 2


# -- errors -------------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_gateway_html_is_retryable(mocked, status):
    mocked.post(TOKEN_URL, json=token_body())
    mocked.post(VOICEOTP_URL, status=status, body="<html><h1>Bad Gateway</h1></html>")
    with pytest.raises(ProviderUnavailable) as info:
        start()
    assert info.value.http_status == status


def test_429_is_retryable(mocked):
    mocked.post(TOKEN_URL, json=token_body())
    mocked.post(VOICEOTP_URL, status=429, json=error_body(429, "Too Many Requests"))
    with pytest.raises(ProviderUnavailable) as info:
        start()
    assert info.value.http_status == 429


def test_non_json_success_is_retryable(mocked):
    mocked.post(TOKEN_URL, json=token_body())
    mocked.post(VOICEOTP_URL, body="OK")
    with pytest.raises(ProviderUnavailable):
        start()


def test_connection_errors_and_timeouts_are_retryable(mocked):
    mocked.post(TOKEN_URL, json=token_body())
    mocked.post(VOICEOTP_URL, body=requests.ConnectionError("reset by peer"))
    with pytest.raises(ProviderUnavailable, match="ConnectionError"):
        start()
    mocked.replace(responses.POST, VOICEOTP_URL, body=requests.ReadTimeout("slow"))
    with pytest.raises(ProviderUnavailable, match="timed out"):
        start()


def test_4xx_is_final_with_status_code_and_message(mocked):
    mocked.post(TOKEN_URL, json=token_body())
    mocked.post(VOICEOTP_URL, status=404, json=error_body(404, "Not Found", "campaign not found"))
    with pytest.raises(ProviderRejected) as info:
        start()
    error = info.value
    assert not isinstance(error, ProviderUnavailable)
    assert (error.http_status, error.code) == (404, 404)
    assert error.provider_message == "Not Found: campaign not found"
    assert "campaign not found" in str(error)


def test_error_under_http_200_is_rejected(mocked):
    mocked.post(TOKEN_URL, json=token_body())
    mocked.post(VOICEOTP_URL, status=200, json=error_body(404, "Not Found"))
    with pytest.raises(ProviderRejected) as info:
        start()
    assert (info.value.http_status, info.value.code) == (200, 404)


def test_status_false_alone_is_an_error(mocked):
    mocked.post(TOKEN_URL, json=token_body())
    mocked.post(VOICEOTP_URL, json={"message": "no credit", "status": False})
    with pytest.raises(ProviderRejected, match="no credit"):
        start()


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            {"message": "Bad Request", "error": "phone_number is invalid"},
            "Bad Request: phone_number is invalid",
        ),
        (
            {"code": 400, "error": [{"field": "otp", "message": "must be numeric"}]},
            "must be numeric",
        ),
        (
            {"messsage": "Bad Request", "data": {"error": "user_id is required"}},
            "Bad Request: user_id is required",
        ),
    ],
)
def test_error_detail_is_read_wherever_it_is(mocked, body, expected):
    mocked.post(TOKEN_URL, json=token_body())
    mocked.post(VOICEOTP_URL, status=400, json=body)
    with pytest.raises(ProviderRejected) as info:
        start()
    assert info.value.provider_message == expected


def test_report_in_progress_and_final(mocked):
    mocked.post(TOKEN_URL, json=token_body())
    data = {
        "call_id": "call-1",
        "campaign_id": "c78af",
        "duration": 0,
        "keypress": "",
        "phone_number": "0771122330",
        "start_time": "",
        "status": "",
        "user_id": "f461",
    }
    mocked.get(REPORT_URL, json={"message": "OK", "code": 200, "status": True, "data": data})
    report = ProviderClient().get_report("call-1")
    assert report.outcome is CallOutcome.IN_PROGRESS and not report.is_final
    assert mocked.calls[1].request.url == REPORT_URL + "?user_id=f461"


def test_call_id_is_url_encoded(mocked):
    mocked.post(TOKEN_URL, json=token_body())
    odd_id = "c78af/42 #1"
    url = API + "api/v1/report/c78af%2F42%20%231"
    mocked.get(
        url, json={"code": 200, "status": True, "data": {"call_id": odd_id, "status": "Success"}}
    )
    assert ProviderClient().get_report(odd_id).call_id == odd_id


def test_no_secret_in_errors_or_logs(mocked, caplog):
    caplog.set_level(logging.DEBUG)
    mocked.post(TOKEN_URL, json=token_body())
    mocked.post(VOICEOTP_URL, status=401, json=error_body(401, "Unauthorized"))
    with pytest.raises(AuthenticationFailed) as info:
        start()
    mocked.replace(responses.POST, VOICEOTP_URL, status=500, body="<html>oops</html>")
    cache.clear()
    with pytest.raises(ProviderUnavailable) as info2:
        start()
    token = ProviderClient().get_access_token()
    shown = " ".join(
        [str(info.value), repr(info.value), str(info2.value), caplog.text, repr(token)]
    )
    for secret in (OTP, TOKEN, SANDBOX_SECRET_KEY):
        assert secret not in shown


# -- over loopback HTTP against the sandbox -----------------------------------------------------


@pytest.mark.django_db(transaction=True)
class TestAgainstSandbox:
    def test_token_round_trip(self, sandbox):
        token = ProviderClient().generate_access_token()
        assert token.user_id == "f461"
        assert token.expires_at == pytest.approx(time.time() + 15552000, abs=5)

    def test_call_reported_in_progress_then_final(self, sandbox):
        client = ProviderClient()
        started = client.start_call("c78af", "+84 77 112 2330", OTP)
        assert started.campaign_id == "c78af"
        assert client.get_report(started.call_id).outcome is CallOutcome.IN_PROGRESS
        report = wait_for_final(client, started.call_id)
        assert report.outcome is CallOutcome.SUCCESS
        assert report.raw_status == "Success"
        assert report.keypress == OTP
        assert report.started_at.tzinfo is not None
        assert abs(report.started_at - datetime.now(UTC)) < timedelta(minutes=1)

    @pytest.mark.parametrize(
        ("phone", "raw"),
        [("0771122339", "Fail"), ("0771122338", "NOANWSER"), ("0771122337", "BUSY")],
    )
    def test_failures_keep_the_raw_status(self, sandbox, phone, raw):
        client = ProviderClient()
        report = wait_for_final(client, client.start_call("c78af", phone, OTP).call_id)
        assert (report.outcome, report.raw_status) == (CallOutcome.FAILED, raw)

    def test_sends_national_form_and_raw_token(self, sandbox):
        ProviderClient().start_call("c78af", "84771122330", OTP, callback_url="http://cb.test/x")
        (request,) = sandbox.requests_for("voiceotp")
        assert request.body["contact"]["phone_number"] == "0771122330"
        assert request.body["callback_url"] == "http://cb.test/x"
        assert not request.headers["Authorization"].startswith("Bearer")

    def test_e164_is_a_setting(self, sandbox, voiceotp):
        voiceotp(PHONE_FORMAT="e164")
        ProviderClient().start_call("c78af", "0771122330", OTP)
        assert sandbox.requests_for("voiceotp")[0].body["contact"]["phone_number"] == "+84771122330"

    def test_token_cached_across_two_clients(self, sandbox):
        ProviderClient().start_call("c78af", "0771122330", OTP)
        ProviderClient().start_call("c78af", "0771122331", OTP)
        assert sandbox.token_requests == 1

    def test_concurrent_first_use_makes_one_token_request(self, sandbox):
        barrier = threading.Barrier(8)
        errors = []

        def use():
            barrier.wait()
            try:
                ProviderClient().get_access_token()
            except Exception as err:  # noqa: BLE001 - reported below
                errors.append(err)

        threads = [threading.Thread(target=use) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        assert errors == []
        assert sandbox.token_requests == 1

    def test_expired_token_is_refreshed_once(self, sandbox):
        client = ProviderClient()
        first = client.get_access_token()
        sandbox.inject("expire_token", endpoint="voiceotp")
        client.start_call("c78af", "0771122330", OTP)
        assert sandbox.token_requests == 2
        assert client.get_access_token().access_token != first.access_token
        assert len(sandbox.requests_for("voiceotp")) == 2

    def test_error_under_http_200(self, sandbox):
        sandbox.inject("error_200", endpoint="voiceotp")
        with pytest.raises(ProviderRejected) as info:
            ProviderClient().start_call("c78af", "0771122330", OTP)
        assert (info.value.http_status, info.value.code) == (200, 404)

    @pytest.mark.parametrize("status", [500, 503])
    def test_server_errors(self, sandbox, status):
        sandbox.inject("http_error", endpoint="voiceotp", status=status)
        with pytest.raises(ProviderUnavailable) as info:
            ProviderClient().start_call("c78af", "0771122330", OTP)
        assert info.value.http_status == status

    def test_rate_limited(self, sandbox):
        sandbox.inject("rate_limit", endpoint="report")
        client = ProviderClient()
        call_id = client.start_call("c78af", "0771122330", OTP).call_id
        with pytest.raises(ProviderUnavailable) as info:
            client.get_report(call_id)
        assert info.value.http_status == 429

    def test_garbage(self, sandbox):
        sandbox.inject("garbage", endpoint="voiceotp")
        with pytest.raises(ProviderUnavailable):
            ProviderClient().start_call("c78af", "0771122330", OTP)

    def test_slow_answer_times_out(self, sandbox, voiceotp):
        voiceotp(TIMEOUT=(1.0, 0.3))
        sandbox.inject("slow", endpoint="voiceotp", seconds=1.0)
        with pytest.raises(ProviderUnavailable, match="timed out"):
            ProviderClient().start_call("c78af", "0771122330", OTP)

    def test_timeout_given_as_a_list(self, sandbox, voiceotp):
        # As it comes from settings read from JSON (the example project's VOICEOTP_OPTIONS).
        voiceotp(TIMEOUT=[1.0, 0.3])
        assert ProviderClient().start_call("c78af", "0771122330", OTP).call_id
        sandbox.inject("slow", endpoint="voiceotp", seconds=1.0)
        with pytest.raises(ProviderUnavailable, match="timed out"):
            ProviderClient().start_call("c78af", "0771122330", OTP)

    def test_unknown_campaign_is_final(self, sandbox):
        with pytest.raises(ProviderRejected) as info:
            ProviderClient().start_call("nope", "0771122330", OTP)
        assert info.value.http_status == 404
        assert not isinstance(info.value, ProviderUnavailable)

    def test_unknown_call_report_is_final(self, sandbox):
        with pytest.raises(ProviderRejected) as info:
            ProviderClient().get_report("no-such-call")
        assert info.value.http_status == 404

    def test_wrong_secret_key(self, sandbox, voiceotp):
        voiceotp(SECRET_KEY="wrong-key")
        with pytest.raises(AuthenticationFailed) as info:
            ProviderClient().start_call("c78af", "0771122330", OTP)
        assert info.value.http_status == 401
        assert "wrong-key" not in str(info.value)
        assert sandbox.requests_for("voiceotp") == []

    def test_epoch_expire_at(self, sandbox):
        sandbox.configure(call_duration=0.2, expire_at_mode="epoch")
        token = ProviderClient().generate_access_token()
        assert token.expires_at == pytest.approx(time.time() + 15552000, abs=5)

    def test_connection_refused(self, voiceotp):
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        voiceotp(API_URL=f"http://127.0.0.1:{port}/")
        with pytest.raises(ProviderUnavailable, match="ConnectionError"):
            ProviderClient().get_access_token()


def wait_for_final(client, call_id, timeout=5.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        report = client.get_report(call_id)
        if report.is_final:
            return report
        time.sleep(0.05)
    raise AssertionError(f"call {call_id} did not finish in {timeout} s")


# -- one session for every thread ---------------------------------------------------------------


def test_threads_share_one_pooled_session_sized_for_a_threads_pool():
    from django_voiceotp.providers import http as client

    barrier = threading.Barrier(16)
    seen = []

    def use():
        barrier.wait()
        seen.append(client.get_session())

    threads = [threading.Thread(target=use) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len({id(session) for session in seen}) == 1
    adapter = seen[0].get_adapter(API)
    # Each thread of a 64-thread worker keeps its connection instead of opening one per call.
    assert adapter._pool_maxsize >= 64


def test_a_forked_process_gets_its_own_session(monkeypatch):
    from django_voiceotp.providers import http as client

    parent = client.get_session()
    monkeypatch.setattr(client.os, "getpid", lambda: -1)  # as in a prefork pool process
    child = client.get_session()
    assert child is not parent
    assert client.get_session() is child


def test_a_provider_number_is_sent_as_it_is_and_any_other_string_normalised(mocked):
    from django_voiceotp.phone import ProviderNumber

    mocked.post(TOKEN_URL, json=token_body())
    mocked.post(VOICEOTP_URL, json=ok_call_body())
    client = ProviderClient()
    client.start_call("c78af", "+84 77 112 2330", OTP)
    client.start_call("c78af", ProviderNumber("+84771122330"), OTP)
    sent = [
        json.loads(c.request.body)["contact"]["phone_number"]
        for c in mocked.calls
        if c.request.url == VOICEOTP_URL
    ]
    # The national form by default; the number the caller vouches for is not parsed again.
    assert sent == ["0771122330", "+84771122330"]


# -- the environment, read once ------------------------------------------------------------------


def test_the_session_reads_proxies_and_ca_bundle_from_the_environment_once_per_host(monkeypatch):
    from django_voiceotp.providers import http as client

    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example:3128")
    monkeypatch.setenv("NO_PROXY", "internal.example")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/ssl/provider-ca.pem")
    reads = []
    read_proxies = requests.utils.get_environ_proxies
    monkeypatch.setattr(
        requests.utils, "get_environ_proxies", lambda url: reads.append(url) or read_proxies(url)
    )
    session = client.ProviderSession()

    for path in ("api/v1/users/generate_access_token", "api/v1/report/1", "api/v1/report/2"):
        merged = session.merge_environment_settings(
            f"https://api.provider.example/{path}", {}, None, None, None
        )
        assert merged["proxies"]["https"] == "http://proxy.example:3128"
        assert merged["verify"] == "/etc/ssl/provider-ca.pem"
    assert len(reads) == 1  # once for the host, not per request
    internal = session.merge_environment_settings(
        "https://internal.example/x", {}, None, None, None
    )
    assert "https" not in internal["proxies"]  # NO_PROXY honoured
    # Explicit settings still win over the environment's.
    explicit = session.merge_environment_settings(
        "https://api.provider.example/x", {"https": "http://other:1"}, None, False, None
    )
    assert (explicit["proxies"]["https"], explicit["verify"]) == ("http://other:1", False)


def test_netrc_credentials_never_replace_the_providers_token(mocked, monkeypatch, tmp_path):
    host = urlsplit(API).hostname
    netrc = tmp_path / "netrc"
    netrc.write_text(f"machine {host} login someone password hunter2\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))
    mocked.post(TOKEN_URL, json=token_body())
    mocked.post(VOICEOTP_URL, json=ok_call_body())

    ProviderClient().start_call("c78af", "0771122330", OTP)
    sent = mocked.calls[-1].request.headers["Authorization"]
    assert sent == token_body()["data"]["access_token"]
    # A plain Session trusting the environment would have sent the netrc login instead.
    plain = requests.Session().prepare_request(requests.Request("POST", VOICEOTP_URL))
    assert plain.headers["Authorization"].startswith("Basic ")
