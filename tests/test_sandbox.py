"""Tests of the sandbox provider over real HTTP, written against the spec alone."""

import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests
import time_machine

from django_voiceotp.sandbox import ACCESS_TOKEN, CAMPAIGN_ID, SECRET_KEY, USER_ID
from django_voiceotp.sandbox.state import provider

OTP = "123456"
PHONE = "0771122330"


@pytest.fixture(autouse=True)
def fresh_sandbox():
    provider.reset()
    provider.configure(call_duration=0.2)
    yield
    provider.reset()


@pytest.fixture
def api(live_server):
    return live_server.url + "/sandbox/api/v1/"


@pytest.fixture
def control(live_server):
    return live_server.url + "/sandbox/_sandbox/"


class CallbackReceiver:
    """A tiny HTTP server on 127.0.0.1 recording every POST it receives."""

    def __init__(self):
        self.received = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length", 0))
                receiver.received.append(
                    {
                        "path": self.path,
                        "content_type": self.headers.get("Content-Type"),
                        "body": json.loads(self.rfile.read(length)),
                    }
                )
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/callback?t=secret"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    receiver = CallbackReceiver()
    yield receiver
    receiver.close()


def get_token(api):
    response = requests.post(api + "users/generate_access_token", json={"secret_key": SECRET_KEY})
    assert response.status_code == 200
    return response.json()["data"]["access_token"]


def send(api, token, *, phone=PHONE, otp=OTP, callback_url=None, campaign=CAMPAIGN_ID, **extra):
    body = {"user_id": USER_ID, "contact": {"phone_number": phone, "otp": otp}, **extra}
    if callback_url:
        body["callback_url"] = callback_url
    return requests.post(
        f"{api}campaigns/{campaign}/voiceotp", json=body, headers={"Authorization": token}
    )


def report(api, token, call_id, user_id=USER_ID):
    return requests.get(
        f"{api}report/{call_id}", params={"user_id": user_id}, headers={"Authorization": token}
    )


def assert_error(response, status, error_fragment=""):
    assert response.status_code == status
    body = response.json()
    assert body["code"] == status
    assert body["status"] is False
    assert body["messsage"]  # the provider's spelling
    assert error_fragment in body["data"]["error"]


# generate_access_token


def test_token_matches_the_spec_example(api):
    response = requests.post(api + "users/generate_access_token", json={"secret_key": SECRET_KEY})

    assert response.status_code == 200
    assert response.json() == {
        "message": "OK",
        "code": 200,
        "status": True,
        "data": {
            "id": "30511f666-f888-411b-a6e0-11111fb6gg7a",
            "user_id": "f461",
            "access_token": "1ebe8f88MzA1MTNkZjMtZjc3My00MTmY",
            "refresh_token": "",
            "expire_at": 15552000,
            "token_type": "Bearer",
            "scope": "member",
        },
    }


def test_wrong_secret_key_is_unauthorized(api):
    response = requests.post(api + "users/generate_access_token", json={"secret_key": "nope"})

    assert_error(response, 401, "invalid secret_key")
    assert response.json()["messsage"] == "Unauthorized"


@pytest.mark.parametrize("body", [b"{not json", b"[]", b"{}", b'{"secret_key": ""}'])
def test_malformed_or_missing_secret_key_is_bad_request(api, body):
    response = requests.post(
        api + "users/generate_access_token",
        data=body,
        headers={"Content-Type": "application/json"},
    )

    assert_error(response, 400)
    assert response.json()["messsage"] == "Bad Request"


def test_expire_at_as_epoch(api):
    provider.configure(expire_at_mode="epoch", token_lifetime=3600)

    response = requests.post(api + "users/generate_access_token", json={"secret_key": SECRET_KEY})

    assert response.json()["data"]["expire_at"] == pytest.approx(time.time() + 3600, abs=5)


def test_token_expires_after_its_lifetime(api):
    provider.configure(token_lifetime=60)
    with time_machine.travel(datetime.now(UTC), tick=True) as traveller:
        token = get_token(api)
        assert send(api, token).status_code == 200

        traveller.shift(timedelta(seconds=61))

        assert_error(send(api, token), 401, "expired")


# voiceotp


def test_voiceotp_places_a_call(api):
    token = get_token(api)

    response = send(api, token, callback_url="https://example.com/cb")

    assert response.status_code == 200
    body = response.json()
    call_id = body["data"]["call_id"]
    assert body == {
        "message": "OK",
        "code": 200,
        "status": True,
        "data": {"campaign_id": CAMPAIGN_ID, "call_id": call_id},
    }
    assert uuid.UUID(call_id).version == 4
    (call,) = provider.calls
    assert provider.find_call(call_id) is call
    assert (call.campaign_id, call.user_id, call.phone_number, call.otp) == (
        CAMPAIGN_ID,
        USER_ID,
        PHONE,
        OTP,
    )
    assert call.callback_url == "https://example.com/cb"
    assert call.created.tzinfo is not None
    assert OTP not in repr(call)


@pytest.mark.parametrize("phone", ["0771122330", "84771122330", "+84771122330"])
def test_voiceotp_accepts_vietnamese_number_forms(api, phone):
    response = send(api, get_token(api), phone=phone)

    assert response.status_code == 200
    call = provider.find_call(response.json()["data"]["call_id"])
    assert call.phone_number == phone  # kept as received


@pytest.mark.parametrize(
    ("contact", "fragment"),
    [
        ({"phone_number": "12345", "otp": OTP}, "phone_number"),
        ({"phone_number": "+1 555 0100", "otp": OTP}, "phone_number"),
        ({"phone_number": "077 112 2330", "otp": OTP}, "phone_number"),
        ({"otp": OTP}, "phone_number"),
        ({"phone_number": PHONE, "otp": "12a456"}, "otp"),
        ({"phone_number": PHONE, "otp": ""}, "otp"),
        ({"phone_number": PHONE, "otp": 123456}, "otp"),
        ({"phone_number": PHONE, "otp": "١٢٣"}, "otp"),  # non-ASCII digits
        ({"phone_number": PHONE}, "otp"),
    ],
)
def test_voiceotp_rejects_a_bad_contact(api, contact, fragment):
    response = requests.post(
        f"{api}campaigns/{CAMPAIGN_ID}/voiceotp",
        json={"user_id": USER_ID, "contact": contact},
        headers={"Authorization": get_token(api)},
    )

    assert_error(response, 400, fragment)
    assert provider.calls == []


def test_voiceotp_rejects_a_missing_user_id_or_contact(api):
    token = get_token(api)
    url = f"{api}campaigns/{CAMPAIGN_ID}/voiceotp"
    contact = {"phone_number": PHONE, "otp": OTP}

    missing_user = requests.post(url, json={"contact": contact}, headers={"Authorization": token})
    missing_contact = requests.post(
        url, json={"user_id": USER_ID}, headers={"Authorization": token}
    )
    other_user = requests.post(
        url, json={"user_id": "x1", "contact": contact}, headers={"Authorization": token}
    )
    not_json = requests.post(url, data=b"oops", headers={"Authorization": token})

    assert_error(missing_user, 400, "user_id")
    assert_error(missing_contact, 400, "contact")
    assert_error(other_user, 403, "user_id")
    assert_error(not_json, 400, "JSON")


def test_voiceotp_rejects_a_bad_callback_url(api):
    assert_error(send(api, get_token(api), callback_url="ftp://x"), 400, "callback_url")


def test_unknown_campaign_is_not_found(api):
    token = get_token(api)

    response = send(api, token, campaign="nope")

    assert_error(response, 404, "nope")
    assert response.json()["messsage"] == "Not Found"
    provider.add_campaign("nope")
    assert send(api, token, campaign="nope").status_code == 200


@pytest.mark.parametrize("header", [{}, {"Authorization": ""}, {"Authorization": "wrong"}])
def test_voiceotp_without_a_valid_token_is_unauthorized(api, header):
    response = requests.post(
        f"{api}campaigns/{CAMPAIGN_ID}/voiceotp",
        json={"user_id": USER_ID, "contact": {"phone_number": PHONE, "otp": OTP}},
        headers=header,
    )

    assert_error(response, 401)
    assert response.json()["messsage"] == "Unauthorized"


def test_the_example_token_is_valid_only_once_issued(api):
    assert_error(send(api, ACCESS_TOKEN), 401)


@pytest.mark.parametrize("scheme", ["", "Bearer ", "bearer "])
def test_raw_and_bearer_tokens_are_accepted(api, scheme):
    assert send(api, scheme + get_token(api)).status_code == 200


# report


def test_report_is_in_progress_until_the_call_ends(api):
    provider.configure(call_duration=30)
    with time_machine.travel(datetime.now(UTC), tick=True) as traveller:
        token = get_token(api)
        call_id = send(api, token).json()["data"]["call_id"]

        ringing = report(api, token, call_id).json()["data"]
        traveller.shift(timedelta(seconds=31))
        ended = report(api, token, call_id).json()["data"]

    assert (ringing["status"], ringing["duration"], ringing["keypress"]) == ("", 0, "")
    assert (ended["status"], ended["duration"], ended["keypress"]) == ("Success", 11, OTP)


@pytest.mark.parametrize(
    ("phone", "status", "duration", "keypress"),
    [
        ("0771122330", "Success", 11, OTP),
        ("0771122336", "Success", 11, OTP),
        ("0771122339", "Fail", 0, ""),
        ("0771122338", "NOANWSER", 0, ""),
        ("0771122337", "BUSY", 0, ""),
    ],
)
def test_report_outcome_by_last_digit(api, phone, status, duration, keypress):
    provider.configure(call_duration=0)
    token = get_token(api)
    call_id = send(api, token, phone=phone).json()["data"]["call_id"]

    response = report(api, token, call_id)

    assert response.status_code == 200
    body = response.json()
    assert (body["message"], body["code"], body["status"]) == ("OK", 200, True)
    data = body["data"]
    assert sorted(data) == sorted(
        [
            "call_id",
            "campaign_id",
            "duration",
            "keypress",
            "phone_number",
            "start_time",
            "status",
            "user_id",
        ]
    )
    assert (data["call_id"], data["campaign_id"], data["phone_number"], data["user_id"]) == (
        call_id,
        CAMPAIGN_ID,
        phone,
        USER_ID,
    )
    assert (data["status"], data["duration"], data["keypress"]) == (status, duration, keypress)


def test_report_start_time_is_naive_vietnam_time(api):
    with time_machine.travel(datetime(2020, 11, 10, 16, 23, 11, tzinfo=UTC), tick=False):
        token = get_token(api)
        call_id = send(api, token).json()["data"]["call_id"]
        data = report(api, token, call_id).json()["data"]

    assert data["start_time"] == "2020-11-10 23:23:11"


def test_report_errors(api):
    token = get_token(api)
    call_id = send(api, token).json()["data"]["call_id"]

    assert_error(report(api, token, "no-such-call"), 404, "no-such-call")
    assert_error(report(api, token, call_id, user_id="x1"), 403)
    assert_error(requests.get(f"{api}report/{call_id}", headers={"Authorization": token}), 400)
    assert_error(report(api, "wrong", call_id), 401)


# callbacks


def test_callback_is_posted_when_the_call_ends(api, receiver):
    provider.configure(call_duration=0.1, callback_delay=0.1)
    token = get_token(api)
    call_id = send(api, token, phone="0771122339", callback_url=receiver.url).json()["data"][
        "call_id"
    ]

    assert provider.wait_for_callbacks(timeout=5)

    (callback,) = receiver.received
    assert callback["path"] == "/callback?t=secret"
    assert callback["content_type"] == "application/json"
    assert callback["body"] == {
        "call_id": call_id,
        "campaign_id": CAMPAIGN_ID,
        "duration": 0,
        "keypress": "",
        "phone_number": "0771122339",
        "start_time": report(api, token, call_id).json()["data"]["start_time"],
        "status": "Fail",
        "user_id": USER_ID,
    }
    assert provider.find_call(call_id).callback_responses == [200]


def test_callback_failure_is_recorded_not_raised(api):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed_port = sock.getsockname()[1]
    provider.configure(call_duration=0)

    send(api, get_token(api), callback_url=f"http://127.0.0.1:{closed_port}/cb")

    assert provider.wait_for_callbacks(timeout=5)
    assert provider.calls[0].callback_responses == ["ConnectionError"]


def test_reset_cancels_pending_callbacks(api, receiver):
    provider.configure(call_duration=0, callback_delay=0.2)
    send(api, get_token(api), callback_url=receiver.url)

    provider.reset()
    time.sleep(0.4)  # past the moment the callback was due

    assert provider.wait_for_callbacks(timeout=1)
    assert receiver.received == []


def test_duplicate_callbacks(api, receiver):
    provider.configure(call_duration=0)
    provider.inject("duplicate_callbacks", copies=3)

    send(api, get_token(api), callback_url=receiver.url)

    assert provider.wait_for_callbacks(timeout=5)
    bodies = [callback["body"] for callback in receiver.received]
    assert len(bodies) == 3
    assert bodies[0] == bodies[1] == bodies[2]
    assert provider.calls[0].callback_responses == [200, 200, 200]


def test_early_callback_arrives_before_the_response(api, receiver):
    provider.configure(call_duration=30)
    provider.inject("early_callback")
    token = get_token(api)

    response = send(api, token, callback_url=receiver.url)

    # No waiting: the callback was received while the request was still being answered.
    (callback,) = receiver.received
    call_id = response.json()["data"]["call_id"]
    assert callback["body"]["call_id"] == call_id
    assert callback["body"]["status"] == "Success"
    assert report(api, token, call_id).json()["data"]["status"] == "Success"
    assert provider.wait_for_callbacks(timeout=1)
    assert len(receiver.received) == 1


# faults


@pytest.mark.parametrize("status", [500, 502, 504])
def test_fault_http_error_answers_an_html_page(api, status):
    provider.inject("http_error", endpoint="token", status=status)

    response = requests.post(api + "users/generate_access_token", json={"secret_key": SECRET_KEY})

    assert response.status_code == status
    assert response.headers["Content-Type"].startswith("text/html")
    assert f"<h1>{status} " in response.text
    with pytest.raises(ValueError):
        response.json()


def test_fault_is_consumed_by_the_next_matching_requests_only(api):
    provider.inject("http_error", endpoint="voiceotp", times=2, status=503)
    token = get_token(api)  # another endpoint: unaffected

    assert [send(api, token).status_code for _ in range(3)] == [503, 503, 200]


def test_fault_without_endpoint_matches_any(api):
    provider.inject("rate_limit")

    response = requests.post(api + "users/generate_access_token", json={"secret_key": SECRET_KEY})

    assert_error(response, 429, "rate limit")
    assert get_token(api) == ACCESS_TOKEN


def test_fault_slow(api):
    provider.inject("slow", endpoint="token", seconds=0.3)

    started = time.monotonic()
    token = get_token(api)

    assert time.monotonic() - started >= 0.3
    assert token == ACCESS_TOKEN


def test_a_call_request_records_when_it_arrived_before_a_fault_held_it(api, control):
    token = get_token(api)
    provider.inject("slow", endpoint="voiceotp", seconds=0.3)
    sent = time.time()
    send(api, token)
    answered = time.time()

    [call] = requests.get(control + "calls").json()
    [recorded] = provider.requests_for("voiceotp")
    assert sent <= call["received_at"] == recorded.received_at <= answered
    # Held 0.3 s after it arrived: the call is made then, its arrival kept.
    created = datetime.fromisoformat(call["created"]).timestamp()
    assert created - call["received_at"] >= 0.3


def test_slow_request_outliving_a_reset_changes_nothing(api):
    token = get_token(api)
    provider.inject("slow", endpoint="voiceotp", seconds=0.3)
    with pytest.raises(requests.ReadTimeout):
        requests.post(
            f"{api}campaigns/{CAMPAIGN_ID}/voiceotp",
            json={"user_id": USER_ID, "contact": {"phone_number": PHONE, "otp": OTP}},
            headers={"Authorization": token},
            timeout=0.1,
        )

    provider.reset()
    time.sleep(0.4)  # until the slow request has woken up

    assert provider.calls == []


def test_fault_error_200(api):
    provider.inject("error_200", endpoint="voiceotp", code=404, error="campaign paused")

    response = send(api, get_token(api))

    assert response.status_code == 200
    assert response.json() == {
        "messsage": "Not Found",
        "code": 404,
        "status": False,
        "data": {"error": "campaign paused"},
    }
    assert provider.calls == []


def test_fault_garbage(api):
    provider.inject("garbage", endpoint="report")
    token = get_token(api)
    call_id = send(api, token).json()["data"]["call_id"]

    response = report(api, token, call_id)

    assert response.status_code == 200
    with pytest.raises(ValueError):
        json.loads(response.text)


def test_fault_in_progress(api):
    provider.configure(call_duration=0)
    provider.inject("in_progress")
    token = get_token(api)
    call_id = send(api, token).json()["data"]["call_id"]

    assert report(api, token, call_id).json()["data"]["status"] == ""
    assert report(api, token, call_id).json()["data"]["status"] == "Success"


def test_fault_expire_token_then_a_new_token_differs(api):
    token = get_token(api)
    provider.inject("expire_token", endpoint="voiceotp")

    assert_error(send(api, token), 401)
    new_token = get_token(api)

    assert new_token != token
    assert new_token.startswith(ACCESS_TOKEN)
    assert send(api, new_token).status_code == 200
    assert_error(send(api, token), 401)


def test_expire_tokens_directly(api):
    token = get_token(api)

    provider.expire_tokens()

    assert_error(send(api, token), 401)
    assert get_token(api) not in (token, "")


@pytest.mark.parametrize(
    ("kind", "kwargs", "fragment"),
    [
        ("teleport", {}, "unknown fault kind"),
        ("slow", {"secs": 1}, "secs"),
        ("slow", {"endpoint": "callback"}, "endpoint"),
        ("in_progress", {"endpoint": "token"}, "report"),
        ("garbage", {"times": 0}, "times"),
    ],
)
def test_inject_rejects_bad_arguments(kind, kwargs, fragment):
    with pytest.raises(ValueError, match=fragment):
        provider.inject(kind, **kwargs)


# request log


def test_every_api_request_is_recorded_even_rejected_ones(api):
    requests.post(api + "users/generate_access_token", json={"secret_key": "nope"})
    token = get_token(api)
    send(api, "wrong")
    send(api, token)
    requests.get(f"{api}report/x", params={"user_id": USER_ID}, headers={"Authorization": token})

    assert provider.token_requests == 2
    assert [r.endpoint for r in provider.requests] == [
        "token",
        "token",
        "voiceotp",
        "voiceotp",
        "report",
    ]
    _rejected, last = provider.requests_for("voiceotp")
    assert (last.method, last.path) == ("POST", f"/sandbox/api/v1/campaigns/{CAMPAIGN_ID}/voiceotp")
    assert last.headers["Authorization"] == token
    assert last.body["contact"] == {"phone_number": PHONE, "otp": OTP}
    assert provider.requests_for("report")[0].path == f"/sandbox/api/v1/report/x?user_id={USER_ID}"
    assert token not in repr(provider.requests)


def test_wrong_method_is_recorded_and_refused(api):
    response = requests.get(api + "users/generate_access_token")

    assert_error(response, 405)
    assert provider.token_requests == 1


def test_paths_have_no_trailing_slash(api):
    response = requests.post(
        api + "users/generate_access_token/", json={"secret_key": SECRET_KEY}, allow_redirects=False
    )

    assert response.status_code in (301, 404)
    assert provider.token_requests == 0


# _sandbox/ control endpoints


def test_control_calls_lists_newest_first_with_otp(api, control):
    provider.configure(call_duration=0)
    token = get_token(api)
    send(api, token, phone="0771122330", otp="1111")
    send(api, token, phone="0771122339", otp="2222")

    listing = requests.get(control + "calls").json()
    filtered = requests.get(control + "calls", params={"phone_number": "0771122330"}).json()

    assert [(c["phone_number"], c["otp"], c["status"]) for c in listing] == [
        ("0771122339", "2222", "Fail"),
        ("0771122330", "1111", "Success"),
    ]
    assert set(listing[0]) == {
        "call_id",
        "campaign_id",
        "phone_number",
        "otp",
        "status",
        "created",
        "received_at",
        "callback_responses",
    }
    assert datetime.fromisoformat(listing[0]["created"]).tzinfo is not None
    assert [c["otp"] for c in filtered] == ["1111"]


def test_control_faults_inject_and_clear(api, control):
    injected = requests.post(
        control + "faults", json={"kind": "http_error", "endpoint": "token", "status": 503}
    )
    assert injected.status_code == 204
    assert requests.post(api + "users/generate_access_token", json={}).status_code == 503

    requests.post(control + "faults", json={"kind": "rate_limit", "times": 5})
    assert requests.delete(control + "faults").status_code == 204
    assert get_token(api) == ACCESS_TOKEN


@pytest.mark.parametrize(
    "body", [{"kind": "teleport"}, {"endpoint": "token"}, {"kind": "slow", "bogus": 1}]
)
def test_control_faults_rejects_bad_input(control, body):
    response = requests.post(control + "faults", json=body)

    assert response.status_code == 400
    assert response.json()["error"]


def test_control_reset(api, control):
    provider.configure(call_duration=30)
    send(api, get_token(api))
    provider.inject("garbage")

    assert requests.post(control + "reset").status_code == 204

    assert provider.calls == []
    assert provider.requests == []
    assert provider.config.call_duration == 1.0
    assert get_token(api) == ACCESS_TOKEN  # the garbage fault is gone


def test_control_calls_lists_the_callbacks_posted(api, control, receiver):
    provider.configure(call_duration=0)
    provider.inject("duplicate_callbacks", copies=2)
    send(api, get_token(api), callback_url=receiver.url)
    send(api, get_token(api), phone="0771122339")
    assert provider.wait_for_callbacks()

    listing = requests.get(control + "calls").json()

    assert [call["callback_responses"] for call in listing] == [[], [200, 200]]


def test_control_requests_counts_each_endpoint(api, control):
    requests.post(api + "users/generate_access_token", json={"secret_key": "nope"})
    token = get_token(api)
    send(api, token)
    send(api, token, phone="0771122339")
    report(api, token, "unknown")

    assert requests.get(control + "requests").json() == {
        "counts": {"token": 2, "voiceotp": 2, "report": 1},
        "total": 5,
    }
    assert requests.post(control + "requests").status_code == 405
    requests.post(control + "reset")
    assert requests.get(control + "requests").json()["total"] == 0


def test_control_config_reads_and_changes_the_behaviour(control):
    assert requests.get(control + "config").json()["call_duration"] == 0.2

    response = requests.post(control + "config", json={"call_duration": 0, "callback_delay": 1.5})

    assert response.status_code == 200
    assert response.json()["callback_delay"] == 1.5
    assert (provider.config.call_duration, provider.config.callback_delay) == (0, 1.5)


@pytest.mark.parametrize(
    "body",
    [
        {"call_duration": -1},
        {"call_duration": "1"},
        {"token_lifetime": 0},
        {"expire_at_mode": "never"},
        {"colour": "blue"},
        [1],
    ],
)
def test_control_config_rejects_bad_values(control, body):
    response = requests.post(control + "config", json=body)

    assert response.status_code == 400
    assert response.json()["error"]
    assert provider.config.call_duration == 0.2


# standalone server


def test_standalone_server_answers(tmp_path):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {key: value for key, value in os.environ.items() if key != "DJANGO_SETTINGS_MODULE"}
    process = subprocess.Popen(
        [sys.executable, "-m", "django_voiceotp.sandbox", "--port", str(port)],
        cwd=Path(__file__).resolve().parent.parent,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 10
        while True:
            assert process.poll() is None, "the sandbox exited early"
            try:
                response = requests.post(
                    base + "api/v1/users/generate_access_token",
                    json={"secret_key": SECRET_KEY},
                    timeout=1,
                )
                break
            except requests.ConnectionError:
                assert time.monotonic() < deadline, "the sandbox did not start in time"
                time.sleep(0.05)
        assert response.json()["data"]["access_token"] == ACCESS_TOKEN
        assert send(base + "api/v1/", ACCESS_TOKEN, otp="975310").status_code == 200
    finally:
        process.terminate()
        output, _ = process.communicate(timeout=5)

    assert re.search(rf"http://127\.0\.0\.1:{port}/", output)
    for secret in ("975310", ACCESS_TOKEN, SECRET_KEY):
        assert secret not in output


def test_a_script_decides_the_next_outcomes_of_a_number(api, control):
    provider.configure(call_duration=0)
    response = requests.post(
        control + "scripts",
        json={"phone_number": PHONE, "outcomes": ["NOANWSER", "busy", "Success"]},
        timeout=5,
    )
    assert response.status_code == 204
    token = get_token(api)
    outcomes = []
    for _ in range(4):
        call_id = send(api, token).json()["data"]["call_id"]
        data = report(api, token, call_id).json()["data"]
        outcomes.append((data["status"], data["duration"] > 0, data["keypress"] == OTP))
    # Used up, the last digit (0: success) decides again.
    assert outcomes == [
        ("NOANWSER", False, False),
        ("busy", False, False),
        ("Success", True, True),
        ("Success", True, True),
    ]


def test_a_script_is_cleared_by_an_empty_list_or_a_reset(control):
    provider.script(PHONE, ["BUSY"])
    requests.post(control + "scripts", json={"phone_number": PHONE, "outcomes": []}, timeout=5)
    assert (
        provider.place_call(
            campaign_id=CAMPAIGN_ID, user_id=USER_ID, phone_number=PHONE, otp=OTP
        ).status
        == "Success"
    )
    provider.script(PHONE, ["BUSY"])
    provider.reset()
    assert (
        provider.place_call(
            campaign_id=CAMPAIGN_ID, user_id=USER_ID, phone_number=PHONE, otp=OTP
        ).status
        == "Success"
    )


@pytest.mark.parametrize(
    "body",
    [
        {"outcomes": ["BUSY"]},
        {"phone_number": PHONE, "outcomes": "BUSY"},
        {"phone_number": PHONE, "outcomes": [""]},
    ],
)
def test_a_bad_script_is_refused(control, body):
    assert requests.post(control + "scripts", json=body, timeout=5).status_code == 400
