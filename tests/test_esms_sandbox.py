"""The simulated eSMS gateway answers as eSMS's documentation says (sandbox/esms)."""

from __future__ import annotations

import json

import pytest

from django_voiceotp.sandbox import esms
from django_voiceotp.sandbox.esms.state import gateway as the_gateway

SEND = "/esms-sandbox/MainService.svc/json/SendMultipleMessage_V4_post_json/"
STATUS = "/esms-sandbox/MainService.svc/json/GetSendStatus"


@pytest.fixture
def gateway():
    the_gateway.reset()
    yield the_gateway
    the_gateway.reset()


def message(**changes):
    body = {
        "ApiKey": esms.API_KEY,
        "SecretKey": esms.SECRET_KEY,
        "Phone": "0901888484",
        "Content": "1234 la ma xac minh dang ky Baotrixemay cua ban",
        "Brandname": esms.BRANDNAME,
        "SmsType": "2",
        "Sandbox": "1",
    }
    body.update(changes)
    return {key: value for key, value in body.items() if value is not None}


def send(client, body):
    data = body if isinstance(body, str) else json.dumps(body)
    response = client.post(SEND, data=data, content_type="application/json")
    return response.status_code, response.json()


def test_a_message_is_accepted_with_its_smsid(client, gateway):
    status, answer = send(client, message())
    assert (status, answer["CodeResult"], answer["CountRegenerate"]) == (200, "100", 0)
    assert [m["SMSID"] for m in gateway.listing()] == [answer["SMSID"]]


@pytest.mark.parametrize(
    "changes, code, error",
    [
        ({"SecretKey": "wrong"}, "101", "Authorize Failed"),
        ({"ApiKey": None}, "101", "Authorize Failed"),
        ({"Brandname": "Unknown"}, "104", "Brand name code is not exist"),
        ({"Phone": "12345"}, "108", "Phone number is not in correct format"),
        ({"SmsType": "5"}, "118", "Unsupported message type"),
        ({"SmsType": None}, "300", "Missing message type"),
    ],
)
def test_the_documented_error_codes(client, gateway, changes, code, error):
    status, answer = send(client, message(**changes))
    assert (status, answer["CodeResult"], answer["ErrorMessage"]) == (200, code, error)
    assert gateway.listing() == []


def test_a_fixed_number_message_needs_no_brandname(client, gateway):
    assert send(client, message(SmsType="8", Brandname=None))[1]["CodeResult"] == "100"


@pytest.mark.parametrize("body", ["not json", "[1, 2]", "null", '"a string"'])
def test_a_body_that_is_not_an_object_is_an_invalid_request(client, gateway, body):
    assert send(client, body) == (400, {"error": "Invalid request"})


def test_a_duplicate_request_id_is_refused_outside_sandbox_mode(client, gateway):
    first = send(client, message(Sandbox="0", RequestId="r-1"))[1]
    again = send(client, message(Sandbox="0", RequestId="r-1"))[1]
    assert first["CodeResult"] == "100"
    assert again == {
        "CodeResult": "124",
        "CountRegenerate": 0,
        "ErrorMessage": "Request exist 1",
        "SendStatus": "5",
    }
    assert len(gateway.listing()) == 1
    # Sandbox messages are not stored by eSMS: their RequestIds block nothing.
    assert [send(client, message(RequestId="r-2"))[1]["CodeResult"] for _ in "ab"] == ["100"] * 2


def test_get_send_status(client, gateway):
    sent = send(client, message(Sandbox="0"))[1]["SMSID"]
    in_sandbox = send(client, message(Sandbox="1"))[1]["SMSID"]
    keys = {"ApiKey": esms.API_KEY, "SecretKey": esms.SECRET_KEY}
    known = client.get(STATUS, {"RefId": sent, **keys}).json()
    assert (known["CodeResponse"], known["SMSID"], known["TotalReceiver"]) == ("100", sent, 1)
    assert client.get(STATUS, {"RefId": in_sandbox, **keys}).json()["CodeResponse"] == "105"
    wrong = {**keys, "SecretKey": "wrong"}
    assert client.get(STATUS, {"RefId": sent, **wrong}).json() == {
        "CodeResponse": "101",
        "SMSID": sent,
    }


def test_faults(client, gateway):
    response = client.post(
        "/esms-sandbox/_sandbox/faults", {"kind": "http_error", "status": 503}, "application/json"
    )
    assert response.status_code == 200
    assert client.post(SEND, message(), "application/json").status_code == 503
    assert gateway.listing() == []
    gateway.inject("garbage")
    assert client.post(SEND, message(), "application/json").content == b"<<not json"
    bad = client.post("/esms-sandbox/_sandbox/faults", {"kind": "meteor"}, "application/json")
    assert bad.status_code == 400
