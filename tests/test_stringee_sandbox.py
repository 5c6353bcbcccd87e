"""The Stringee sandbox on its own, as Stringee's documentation describes the API: its token check,
the callout's body, its controls. Tokens are made here by hand (not by the backend)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time

import pytest

from django_voiceotp.sandbox import stringee as account
from django_voiceotp.sandbox.stringee.state import exchange

CALLOUT = "/stringee-sandbox/v1/call2/callout"


def b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def token(*, secret=account.API_KEY_SECRET, exp_in=60, **claims) -> str:
    header = b64({"typ": "JWT", "alg": "HS256", "cty": "stringee-api;v=1"})
    now = int(time.time())
    payload = b64(
        {"jti": f"x-{now}", "iss": account.API_KEY_SID, "exp": now + exp_in, "rest_api": True}
        | claims
    )
    signature = hmac.new(secret.encode(), f"{header}.{payload}".encode(), hashlib.sha256).digest()
    return f"{header}.{payload}.{base64.urlsafe_b64encode(signature).rstrip(b'=').decode()}"


BODY = {
    "from": {"type": "external", "number": account.FROM_NUMBER, "alias": account.FROM_NUMBER},
    "to": [{"type": "external", "number": "84771122330", "alias": "84771122330"}],
    "actions": [{"action": "talk", "text": "Ma 1 2 3", "voice": "v", "speed": -1}],
}


@pytest.fixture(autouse=True)
def fresh():
    exchange.reset()
    yield
    exchange.reset()


def callout(client, body=BODY, auth=None):
    headers = {"HTTP_X_STRINGEE_AUTH": token() if auth is None else auth}
    return client.post(CALLOUT, json.dumps(body), content_type="application/json", **headers)


def test_a_good_token_places_the_call_and_records_what_is_read(client):
    answer = callout(client)
    assert answer.status_code == 200 and answer.json()["r"] == 0
    [call] = client.get("/stringee-sandbox/_sandbox/calls").json()["calls"]
    assert call["call_id"] == answer.json()["call_id"]
    assert (call["to"], call["spoken"], call["voice"], call["speed"]) == (
        "84771122330",
        ["Ma 1 2 3"],
        "v",
        -1,
    )


@pytest.mark.parametrize(
    "auth",
    [
        "",
        "not.a.jwt",
        token(secret="another-secret"),
        token(exp_in=-1),
        token(rest_api=False),
        token(iss="SK.someone-else"),
    ],
)
def test_a_bad_token_is_refused_with_401_and_no_call(client, auth):
    answer = callout(client, auth=auth)
    assert answer.status_code == 401 and answer.json()["r"] != 0
    assert exchange.calls == []


@pytest.mark.parametrize(
    "change",
    [{"from": {"number": "840000000000"}}, {"to": []}, {"actions": []}],
)
def test_a_callout_missing_its_parts_is_refused(client, change):
    answer = callout(client, {**BODY, **change})
    assert answer.json()["r"] != 0 and exchange.calls == []


def test_faults_are_injected_by_the_control_endpoint(client):
    assert (
        client.post(
            "/stringee-sandbox/_sandbox/faults",
            json.dumps({"kind": "http_error", "status": 502}),
            content_type="application/json",
        ).status_code
        == 200
    )
    assert callout(client).status_code == 502
    assert callout(client).status_code == 200
    refused = client.post(
        "/stringee-sandbox/_sandbox/faults", "{}", content_type="application/json"
    )
    assert refused.status_code == 400
