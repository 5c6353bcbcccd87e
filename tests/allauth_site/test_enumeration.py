"""With enumeration prevention (allauth's default), no answer tells a number with an account
from one without: the same statuses, the same refusals and waits, the same messages, through the
HTML pages and the headless API alike, with allauth's own rate limits on (its defaults)."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from django_voiceotp.contrib.allauth.models import PhoneNumber
from django_voiceotp.models import Call, Campaign

KNOWN = "+84771122330"
UNKNOWN = "+84771122340"
HEADLESS = "/_allauth/browser/v1"

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def allauth_rate_limits(settings):
    """allauth's default rate limits, as a project has them (the suite's settings turn them off)."""
    del settings.ACCOUNT_RATE_LIMITS


@pytest.fixture(autouse=True)
def account(db):
    user = get_user_model().objects.create_user("minh", password="a-long-pass-9")
    PhoneNumber.objects.create(user=user, phone=KNOWN, verified=True)


def html_code_request(phone: str, address: str):
    return Client().post(
        reverse("account_request_login_code"), {"phone": phone}, REMOTE_ADDR=address
    )


def headless_code_request(phone: str, address: str):
    return Client().post(
        f"{HEADLESS}/auth/code/request",
        {"phone": phone},
        content_type="application/json",
        REMOTE_ADDR=address,
    )


def html_sign_up(phone: str, address: str):
    return Client().post(
        reverse("account_signup"),
        {
            "phone": phone,
            "username": f"u{address[-1]}",
            "password1": "a-long-pass-9",
            "password2": "a-long-pass-9",
        },
        REMOTE_ADDR=address,
    )


def headless_sign_up(phone: str, address: str):
    return Client().post(
        f"{HEADLESS}/auth/signup",
        {"phone": phone, "username": f"u{address[-1]}", "password": "a-long-pass-9"},
        content_type="application/json",
        REMOTE_ADDR=address,
    )


def verifications(phone: str, address: str):
    return Client().post(
        "/voiceotp/verifications/",
        {"phone_number": phone},
        content_type="application/json",
        REMOTE_ADDR=address,
    )


def observed(response) -> tuple:
    """What a client can see of an answer, the number's own text left out."""
    messages = [str(message) for message in getattr(response.wsgi_request, "_messages", [])]
    return (
        response.status_code,
        response.get("Retry-After"),
        response.get("Location"),
        [message.replace(KNOWN, "N").replace(UNKNOWN, "N") for message in messages],
    )


@pytest.mark.parametrize(
    ("request_code", "first", "limited"),
    [(html_code_request, 302, 429), (headless_code_request, 401, 429)],
    ids=["html", "headless"],
)
def test_a_second_login_code_request_is_refused_alike(request_code, first, limited, time_machine):
    time_machine.move_to("2026-03-02 10:15:00+00:00", tick=False)
    seen = {}
    for phone in (KNOWN, UNKNOWN):
        # Two clients: the second asks within the number's cooldown.
        answers = [request_code(phone, "203.0.113.7"), request_code(phone, "198.51.100.9")]
        assert [answer.status_code for answer in answers] == [first, limited]
        assert answers[1]["Retry-After"] == "60"
        # The number's quota was spent alike: the verification API refuses both.
        after = verifications(phone, "192.0.2.44")
        assert after.status_code == 429
        seen[phone] = [observed(answer) for answer in answers] + [observed(after)]
    assert seen[KNOWN] == seen[UNKNOWN]
    assert Call.objects.filter(phone_number="0771122330").count() == 1
    assert not Call.objects.filter(phone_number="0771122340").exists()  # counted, not called


@pytest.mark.parametrize("request_code", [html_code_request, headless_code_request])
def test_no_active_campaign_says_so_for_every_number(request_code):
    Campaign.objects.create(campaign_id="c78af", is_active=False)  # DEFAULT_CAMPAIGN, off
    known, unknown = (request_code(phone, "203.0.113.7") for phone in (KNOWN, UNKNOWN))
    assert observed(known) == observed(unknown)
    if request_code is html_code_request:
        assert "Calls cannot be placed right now." in observed(unknown)[3]
    assert Call.objects.count() == 0


@pytest.mark.parametrize(
    ("sign_up", "answered", "again_answered"),
    # allauth's headless sign-up drops a refused call for a new account (a verification under
    # way, 401); the pages show the refusal (429). Either way, alike for both numbers.
    [(html_sign_up, 302, 429), (headless_sign_up, 401, 401)],
    ids=["html", "headless"],
)
def test_a_sign_up_with_a_number_that_has_an_account_counts_as_a_call(
    sign_up, answered, again_answered, time_machine
):
    time_machine.move_to("2026-03-02 10:15:00+00:00", tick=False)
    seen = {}
    for phone, address in ((KNOWN, "203.0.113.7"), (UNKNOWN, "203.0.113.8")):
        signed_up = sign_up(phone, address)
        assert signed_up.status_code == answered
        # Another client, past allauth's own limit (one per 30 s), within the call's cooldown.
        time_machine.shift(31)
        again = sign_up(phone, address[:-1] + "9")
        after = verifications(phone, "192.0.2.44")
        seen[phone] = [signed_up.status_code, again.status_code, after.status_code]
    assert seen[KNOWN] == seen[UNKNOWN] == [answered, again_answered, 429]
    assert not Call.objects.filter(phone_number="0771122330").exists()  # it had an account
    assert Call.objects.filter(phone_number="0771122340").count() == 1


def html_resend(client: Client, address: str):
    response = client.post(
        reverse("account_verify_phone"), {"action": "resend"}, REMOTE_ADDR=address, follow=True
    )
    shown = [str(message) for message in response.context["messages"]]
    return response.status_code, [text.replace(KNOWN, "N").replace(UNKNOWN, "N") for text in shown]


def headless_resend(client: Client, address: str):
    response = client.post(
        f"{HEADLESS}/auth/phone/verify/resend",
        {},
        content_type="application/json",
        REMOTE_ADDR=address,
    )
    return response.status_code, response.get("Retry-After")


@pytest.mark.parametrize(
    ("path", "body", "resend", "expected"),
    [
        (
            "/accounts/signup/",
            {"username": "lan", "password1": "a-long-pass-9", "password2": "a-long-pass-9"},
            html_resend,
            [
                (200, ["Be patient, you are sending too many requests."]),
                (200, ["We are calling N to read out your verification code."]),
            ],
        ),
        (
            f"{HEADLESS}/auth/signup",
            {"username": "lan", "password": "a-long-pass-9"},
            headless_resend,
            [(429, None), (200, None)],
        ),
    ],
    ids=["html", "headless"],
)
def test_a_resend_after_a_sign_up_is_refused_alike(path, body, resend, expected, time_machine):
    # allauth asks no hook to resend for a sign-up whose number has an account, yet says the
    # code is on its way: the same gate runs then, so the resend is refused as a real one.
    time_machine.move_to("2026-03-02 10:15:00+00:00", tick=False)
    seen = {}
    for phone in (KNOWN, UNKNOWN):
        client = Client()
        content_type = "application/json" if path.startswith(HEADLESS) else None
        extra = {"content_type": content_type} if content_type else {}
        client.post(path, {"phone": phone, **body}, REMOTE_ADDR="203.0.113.7", **extra)
        time_machine.shift(31)  # past allauth's own limit, within the call's cooldown
        within = resend(client, "203.0.113.7")
        time_machine.shift(30)  # past the cooldown: a second call is allowed
        after = resend(client, "203.0.113.7")
        seen[phone] = [within, after]
        time_machine.shift(3600)
    assert seen[KNOWN] == seen[UNKNOWN] == expected
