"""The demo as ``make demo`` runs it: what it prints, its page, its JSON endpoints, its admin."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

#: Numbers whose simulated call succeeds, fails, and is not answered (by their last digit).
ANSWERED, FAILING, UNANSWERED = "0771122330", "0771122339", "0771122338"


class Visitor:
    """A browser session without a browser: cookies, CSRF header, JSON."""

    def __init__(self, base_url: str, language: str = "en") -> None:
        self.base_url = base_url
        self.session = requests.Session()
        self.session.headers["Accept-Language"] = language

    def get(self, path: str, **kwargs) -> requests.Response:
        return self.session.get(self.base_url + path, timeout=10, **kwargs)

    def post(self, path: str, data: dict) -> requests.Response:
        if "csrftoken" not in self.session.cookies:
            self.get("/")
        headers = {"X-CSRFToken": self.session.cookies["csrftoken"]}
        return self.session.post(self.base_url + path, json=data, headers=headers, timeout=10)

    def call(self, phone_number: str, provider: str | None = None) -> dict:
        body = {"phone_number": phone_number}
        if provider is not None:
            body["provider"] = provider
        response = self.post("/demo/calls/", body)
        assert response.status_code == 201, response.text
        return response.json()

    def wait_until_final(self, call_id: int, timeout: float = 15) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            status = self.get(f"/demo/calls/{call_id}/").json()
            if status["is_final"]:
                return status
            time.sleep(0.2)
        raise AssertionError(f"call {call_id} still {status['status']} after {timeout} s")

    def follow_delivery(self, call_id: int, timeout: float = 60) -> list[dict]:
        """Every status answer for ``call_id``, as the page polls it, until the delivery is over
        (no redial and no fallback still to come)."""
        seen = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            seen.append(self.get(f"/demo/calls/{call_id}/").json())
            if seen[-1]["delivery_over"]:
                return seen
            time.sleep(0.2)
        raise AssertionError(f"delivery of call {call_id} not over after {timeout} s: {seen[-1]}")

    def heard_otp(self, phone_number: str, provider_call_id: str) -> str:
        """What the sandbox phone heard: the demo page's sandbox panel reads the same listing."""
        calls = self.get("/sandbox/_sandbox/calls", params={"phone_number": phone_number}).json()
        return next(call["otp"] for call in calls if call["call_id"] == provider_call_id)

    def heard_at_stringee(self, provider_call_id: str) -> str:
        """What the Stringee sandbox's phone heard: the passcode's digits, spaced, read twice."""
        calls = self.get("/stringee-sandbox/_sandbox/calls").json()["calls"]
        (spoken,) = next(call["spoken"] for call in calls if call["call_id"] == provider_call_id)
        readings = re.findall(r"\d(?: \d)+", spoken)
        assert len(readings) == 2 and readings[0] == readings[1], "the code is read twice"
        return readings[0].replace(" ", "")


@pytest.fixture
def visitor(demo_server):
    return Visitor(demo_server.url)


def test_rundemo_checks_the_setup_and_prints_where_to_go(demo_server):
    out = demo_server.output
    assert "✓ provider: access token obtained for user f461" in out
    # Both providers of the page, each on its sandbox: neither's breaker open.
    assert "✓ circuit breaker of pitel: closed" in out
    assert "✓ circuit breaker of stringee: closed" in out
    assert f"The demo is running at {demo_server.url}/" in out
    assert f"The admin is at {demo_server.url}/admin/ (user admin, password " in out


def test_the_page_offers_a_call_and_links_the_admin(visitor):
    html = visitor.get("/").text
    assert "Voice OTP demo" in html
    assert 'id="call-form"' in html and 'id="verify-form"' in html
    # The providers to choose from, Pitel (the default provider) first.
    options = re.findall(r'<option value="([^"]+)">([^<]+)</option>', html)
    assert options == [("pitel", "Pitel (TEL4VN)"), ("stringee", "Stringee")]
    assert 'href="/admin/django_voiceotp/call/"' in html
    assert "/static/demo/demo.js" in html
    assert visitor.get("/static/demo/demo.js").status_code == 200


def test_a_visitor_gets_a_call_hears_the_code_and_verifies_it(visitor):
    started = visitor.call("077 112 2330")
    assert started["phone_number"] == ANSWERED
    assert started["status"] in ("pending", "sent")
    final = visitor.wait_until_final(started["id"])
    assert final["status"] == "success"
    assert (final["provider"], final["provider_display"]) == ("pitel", "Pitel (TEL4VN)")
    assert final["explanation"] == "You answered and heard the code. Type it below."
    otp = visitor.heard_otp(ANSWERED, final["provider_call_id"])

    wrong = "000000" if otp != "000000" else "111111"
    refused = visitor.post("/demo/verify/", {"code": wrong})
    assert refused.status_code == 400
    assert refused.json()["error"] == "That is not the code. Tries left: 4."
    accepted = visitor.post("/demo/verify/", {"code": otp})
    assert accepted.json() == {"verified": True, "message": "Verified: this number is yours."}
    # A code is good once.
    again = visitor.post("/demo/verify/", {"code": otp})
    assert again.json()["error"] == "This code was used already. Ask for a new call."


def test_a_visitor_chooses_stringee_hears_the_code_there_and_verifies_it(visitor):
    started = visitor.call(ANSWERED, provider="stringee")
    assert (started["provider"], started["provider_display"]) == ("stringee", "Stringee")
    final = visitor.wait_until_final(started["id"])
    assert final["status"] == "success"
    assert final["provider"] == "stringee"
    assert final["attempts"][0]["provider"] == "stringee"
    otp = visitor.heard_at_stringee(final["provider_call_id"])
    pitel_calls = visitor.get("/sandbox/_sandbox/calls").json()
    assert final["provider_call_id"] not in {call["call_id"] for call in pitel_calls}
    assert visitor.post("/demo/verify/", {"code": otp}).json()["verified"] is True


def test_a_call_pitel_cannot_place_is_placed_by_stringee_and_the_page_says_so(visitor):
    """Pitel answers 5xx (the fault placed nothing): FAILOVER's next provider calls, with the
    same passcode, and the delivery shows Stringee as the provider that called."""
    faults = visitor.session.post(
        visitor.base_url + "/sandbox/_sandbox/faults",
        json={"kind": "http_error", "endpoint": "voiceotp", "status": 503},
        timeout=10,
    )
    assert faults.status_code == 204
    started = visitor.call("0771122334", provider="pitel")
    final = visitor.wait_until_final(started["id"])
    assert final["status"] == "success"
    assert (final["provider"], final["provider_display"]) == ("stringee", "Stringee")
    otp = visitor.heard_at_stringee(final["provider_call_id"])
    assert visitor.post("/demo/verify/", {"code": otp}).json()["verified"] is True


def test_a_provider_not_offered_is_refused(visitor):
    response = visitor.post("/demo/calls/", {"phone_number": ANSWERED, "provider": "acme"})
    assert response.status_code == 400
    assert response.json() == {"error": "Choose one of the providers offered."}


SMS_SENT = (
    "The code was sent to you by SMS instead. Type it below. "
    "(In this demo the sandbox phone shows the SMS.)"
)


def sms_code(demo_server, call_id: int) -> str:
    """The passcode of the SMS the eSMS sandbox took for ``call_id``'s delivery."""
    messages = requests.get(demo_server.url + "/esms-sandbox/_sandbox/messages", timeout=10).json()
    mine = [m for m in messages if m["RequestId"].startswith(f"voiceotp-{call_id}-")]
    assert len(mine) == 1, f"not one SMS for call {call_id}: {messages}"
    return re.fullmatch(r"Ma xac thuc cua ban la (\d+)\. .*", mine[0]["Content"])[1]


def test_a_failed_call_says_why_and_that_the_code_went_by_sms(demo_server, visitor):
    """A failed call (not a "not reached" one) is not redialled: the fallback sends the code."""
    started = visitor.call(FAILING)
    final = visitor.follow_delivery(started["id"])[-1]
    assert final["status"] == "failed" and final["attempt"] == 1
    assert final["fallback_sent"] is True
    assert final["explanation"] == f"The call failed. {SMS_SENT}"
    code = sms_code(demo_server, started["id"])
    assert visitor.post("/demo/verify/", {"code": code}).json()["verified"] is True


def test_a_call_nobody_answers_is_redialled_then_the_code_goes_by_sms(demo_server_quick_redial):
    """The page follows the delivery to its end: it never says "ask for a new call" while the
    server is about to call again, and shows the redial and the fallback."""
    visitor = Visitor(demo_server_quick_redial.url)
    started = visitor.call(UNANSWERED)
    seen = visitor.follow_delivery(started["id"])

    explanations = [answer["explanation"] for answer in seen]
    assert not [text for text in explanations if "Ask for a new call" in text]
    waiting = [answer for answer in seen if answer["redial_in"] is not None]
    assert waiting, "the wait before the redial was never shown"
    for answer in waiting:
        assert answer["delivery_over"] is False and answer["status"] == "pending"
        assert answer["attempt"] == 2 and answer["id"] != started["id"]
        assert re.fullmatch(
            r"Nobody answered\. We call you again (now|in 1 second)\.", answer["explanation"]
        ), answer["explanation"]
    # Every state of both calls, as the page writes them in its history.
    states = {
        (attempt["id"], attempt["status"]) for answer in seen for attempt in answer["attempts"]
    }
    redial_id = waiting[0]["id"]
    assert {(started["id"], "failed"), (redial_id, "pending"), (redial_id, "failed")} <= states

    final = seen[-1]
    assert final["id"] == redial_id and final["status"] == "failed"
    assert [attempt["id"] for attempt in final["attempts"]] == [started["id"], redial_id]
    assert final["fallback_sent"] is True
    assert final["explanation"] == f"Nobody answered. {SMS_SENT}"
    code = sms_code(demo_server_quick_redial, redial_id)
    assert visitor.post("/demo/verify/", {"code": code}).json() == {
        "verified": True,
        "message": "Verified: this number is yours.",
    }


def test_an_invalid_number_is_refused(visitor):
    response = visitor.post("/demo/calls/", {"phone_number": "12345"})
    assert response.status_code == 400
    assert "We cannot call this number" in response.json()["error"]


def test_too_many_wrong_codes_end_the_attempt(visitor):
    started = visitor.call(ANSWERED)
    for tries_left in (4, 3, 2, 1):
        refused = visitor.post("/demo/verify/", {"code": "x"}).json()
        assert refused["error"] == f"That is not the code. Tries left: {tries_left}."
    assert visitor.post("/demo/verify/", {"code": "x"}).json()["error"] == (
        "Too many wrong codes. Ask for a new call."
    )
    final = visitor.wait_until_final(started["id"])
    otp = visitor.heard_otp(ANSWERED, final["provider_call_id"])
    assert visitor.post("/demo/verify/", {"code": otp}).json()["verified"] is False


def test_a_call_is_visible_only_to_its_visitor(demo_server, visitor):
    started = visitor.call(ANSWERED)
    stranger = Visitor(demo_server.url)
    assert stranger.get(f"/demo/calls/{started['id']}/").status_code == 404


def test_the_page_speaks_vietnamese(demo_server):
    by_header = Visitor(demo_server.url, language="vi")
    html = by_header.get("/").text
    assert '<html lang="vi">' in html
    assert "Demo OTP qua cuộc gọi thoại" in html and "Gọi cho tôi" in html
    assert (
        by_header.post("/demo/calls/", {"phone_number": "1"})
        .json()["error"]
        .startswith("Không thể gọi đến số này")
    )
    # The language switch: a cookie that wins over the browser's header.
    by_switch = Visitor(demo_server.url, language="en")
    by_switch.get("/")
    by_switch.session.post(
        demo_server.url + "/i18n/setlang/",
        data={"language": "vi", "next": "/"},
        headers={"X-CSRFToken": by_switch.session.cookies["csrftoken"]},
        timeout=10,
    )
    assert "Gọi cho tôi" in by_switch.get("/").text


def test_the_printed_credentials_open_the_admin_and_it_shows_no_otp(demo_server, visitor):
    started = visitor.call(ANSWERED)
    final = visitor.wait_until_final(started["id"])
    otp = visitor.heard_otp(ANSWERED, final["provider_call_id"])

    username, password = demo_server.credentials()
    operator = Visitor(demo_server.url)
    login_page = operator.get("/admin/login/")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', login_page.text)[1]
    logged_in = operator.session.post(
        demo_server.url + "/admin/login/?next=/admin/",
        data={"username": username, "password": password, "csrfmiddlewaretoken": token},
        timeout=10,
    )
    assert logged_in.url == demo_server.url + "/admin/", "the printed credentials did not work"
    calls = operator.get("/admin/django_voiceotp/call/").text
    assert "077****330" in calls and "voiceotp-badge voiceotp-success" in calls
    call_page = operator.get(f"/admin/django_voiceotp/call/{started['id']}/change/").text
    assert final["provider_call_id"] in call_page
    for html in (calls, call_page):
        assert otp not in html


# -- what the example project mounts and sends --------------------------------------------------

EXAMPLE_PROJECT = Path(__file__).resolve().parent.parent / "example_project"
SANDBOX_AND_DEMO = (
    "/sandbox/_sandbox/calls",
    "/sandbox/api/v1/report/1",
    "/stringee-sandbox/v1/call2/callout",
    "/esms-sandbox/_sandbox/messages",
    "/",
    "/demo/calls/",
)
ALWAYS = ("/voiceotp/callbacks/token/", "/admin/", "/i18n/setlang/")

RESOLVE = """
import json, django
django.setup()
from django.urls import Resolver404, resolve

def mounted(path):
    try:
        resolve(path)
    except Resolver404:
        return False
    return True

print(json.dumps({path: mounted(path) for path in json.loads(input())}))
"""


def example_project_mounts(**env: str) -> dict[str, bool]:
    """Which paths the example project serves, run in its own process with ``env`` set."""
    base = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "VOICEOTP_"))
    }
    result = subprocess.run(
        [sys.executable, "-c", RESOLVE],
        cwd=EXAMPLE_PROJECT,
        env={**base, "DJANGO_SETTINGS_MODULE": "example_project.settings", **env},
        input=json.dumps(SANDBOX_AND_DEMO + ALWAYS),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return json.loads(result.stdout)


@pytest.mark.parametrize(
    ("env", "sandbox_mounted"),
    [
        ({}, True),  # DEBUG is on by default: make demo
        ({"DJANGO_DEBUG": "0"}, False),
        ({"DJANGO_DEBUG": "0", "VOICEOTP_SANDBOX": "1"}, True),
        ({"DJANGO_DEBUG": "1", "VOICEOTP_SANDBOX": "0"}, False),
    ],
)
def test_the_sandbox_is_mounted_only_with_debug_or_when_asked_for(env, sandbox_mounted):
    mounts = example_project_mounts(**env)
    assert mounts == {
        **{path: sandbox_mounted for path in SANDBOX_AND_DEMO},
        **{path: True for path in ALWAYS},
    }


def test_no_page_may_be_framed(demo_server, visitor):
    for path in ("/", "/admin/login/", "/demo/calls/1/"):
        assert visitor.get(path).headers["X-Frame-Options"] == "DENY", path


def test_the_code_field_takes_the_code_as_the_phone_shows_it(visitor):
    html = visitor.get("/").text
    field = re.search(r'<input id="code"[^>]*>', html).group(0)
    assert "maxlength" not in field  # "0 6 2 8 1 4" is eleven characters


def test_the_demo_has_an_icon(visitor):
    response = visitor.get("/favicon.ico")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("image/svg+xml")
    assert "<svg" in response.text
