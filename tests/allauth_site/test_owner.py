"""The owner's share of a number's day holds through allauth as through the HTTP API: a client
that verified the number before, or the signed-in user whose verified number it is, may spend
what strangers cannot, whether or not the number has an account."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.contrib.messages.storage.fallback import FallbackStorage
from django.contrib.sessions.backends.db import SessionStore
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from django_voiceotp import limits
from django_voiceotp.contrib.allauth import adapter as adapter_module
from django_voiceotp.contrib.allauth.adapter import VoiceOTPAccountAdapter
from django_voiceotp.contrib.allauth.models import PhoneNumber
from django_voiceotp.limits.clients import OWNER_COOKIE
from django_voiceotp.models import Call, Verification

KNOWN = "+84771122330"
UNKNOWN = "+84771122340"
OWNER_ADDRESS = "203.0.113.7"

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def one_send_for_strangers(voiceotp, enqueued):
    # Of the number's 4 sends a day, 3 are its owner's: strangers have 1.
    voiceotp(
        SENDS_PER_NUMBER_PER_DAY=4,
        SENDS_RESERVED_FOR_OWNER_PER_DAY=3,
        SENDS_PER_NUMBER_PER_HOUR=None,
        RESEND_COOLDOWN=0,
    )


@pytest.fixture
def on_commit(django_capture_on_commit_callbacks):
    def run(action):
        with django_capture_on_commit_callbacks(execute=True):
            return action()

    return run


def account(phone=KNOWN, verified=True):
    user = get_user_model().objects.create_user("minh", password="a-long-pass-9")
    PhoneNumber.objects.create(user=user, phone=phone, verified=verified)
    return user


def verified_from(address: str, national: str) -> None:
    """``address`` asked for a code of the number and verified it (through the HTTP API)."""
    now = timezone.now()
    Verification.objects.create(
        phone_number=national,
        code_hash="x",
        client_ip=address,
        state=Verification.State.VERIFIED,
        verified_at=now,
        expires_at=now + timedelta(minutes=5),
    )


def login_code(phone: str, address: str):
    return Client().post(
        reverse("account_request_login_code"), {"phone": phone}, REMOTE_ADDR=address
    )


@pytest.mark.parametrize("phone", [KNOWN, UNKNOWN])
def test_strangers_cannot_spend_the_owners_share_with_or_without_an_account(phone, on_commit):
    account()  # KNOWN has an account; UNKNOWN none
    verified_from(OWNER_ADDRESS, "0" + phone[3:])
    statuses = [
        on_commit(lambda address=address: login_code(phone, address)).status_code
        for address in ("198.51.100.1", "198.51.100.2", OWNER_ADDRESS, OWNER_ADDRESS)
    ]
    # The strangers' one send; the second stranger is refused; the owner is not. The same
    # answers for both numbers: the owner's share tells nothing about accounts.
    assert statuses == [302, 429, 302, 302]
    assert Call.objects.count() == (3 if phone == KNOWN else 0)


def test_the_signed_in_user_whose_verified_number_it_is_spends_the_owners_share(on_commit):
    user = account()
    assert on_commit(lambda: login_code(KNOWN, "198.51.100.1")).status_code == 302
    assert on_commit(lambda: login_code(KNOWN, "198.51.100.2")).status_code == 429

    client = Client()
    client.force_login(user)
    response = on_commit(
        lambda: client.post(
            reverse("account_request_reauthentication_code"),
            {"recipient": KNOWN},
            REMOTE_ADDR="198.51.100.3",  # an address that never verified the number
        )
    )
    assert response.status_code == 302
    assert Call.objects.count() == 2


def test_a_number_the_user_never_verified_gets_no_owners_share(rf):
    request = rf.post("/", REMOTE_ADDR="198.51.100.3")
    request.user = account(verified=False)
    adapter = VoiceOTPAccountAdapter()
    assert not adapter_module._is_owner(adapter, request, limits.allowed_number(KNOWN))
    PhoneNumber.objects.update(verified=True)
    assert adapter_module._is_owner(adapter, request, limits.allowed_number(KNOWN))
    assert not adapter_module._is_owner(adapter, request, limits.allowed_number(UNKNOWN))


HEADLESS = "/_allauth/browser/v1"


def headless(client, method, path, address, body=""):
    return getattr(client, method)(
        f"{HEADLESS}{path}", body, content_type="application/json", REMOTE_ADDR=address
    )


def sign_in_by_code_on_the_page(client, on_commit, address):
    asked = on_commit(
        lambda: client.post(
            reverse("account_request_login_code"), {"phone": KNOWN}, REMOTE_ADDR=address
        )
    )
    assert asked.status_code == 302
    confirmed = client.post(
        reverse("account_confirm_login_code"), {"code": "482915"}, REMOTE_ADDR=address
    )
    assert confirmed.status_code == 302 and "_auth_user_id" in client.session
    assert client.post(reverse("account_logout"), REMOTE_ADDR=address).status_code == 302
    assert "_auth_user_id" not in client.session


def sign_in_by_code_headless(client, on_commit, address):
    asked = on_commit(
        lambda: headless(client, "post", "/auth/code/request", address, {"phone": KNOWN})
    )
    assert asked.status_code == 401
    confirmed = headless(client, "post", "/auth/code/confirm", address, {"code": "482915"})
    assert confirmed.status_code == 200
    assert headless(client, "delete", "/auth/session", address).status_code == 401


def sign_up_and_verify_on_the_page(client, on_commit, address):
    signed_up = on_commit(
        lambda: client.post(
            reverse("account_signup"),
            {
                "phone": UNKNOWN,
                "username": "lan",
                "password1": "a-long-pass-9",
                "password2": "a-long-pass-9",
            },
            REMOTE_ADDR=address,
        )
    )
    assert signed_up["Location"] == reverse("account_verify_phone")
    verified = client.post(reverse("account_verify_phone"), {"code": "482915"}, REMOTE_ADDR=address)
    assert verified.status_code == 302 and "_auth_user_id" in client.session
    assert client.post(reverse("account_logout"), REMOTE_ADDR=address).status_code == 302
    assert "_auth_user_id" not in client.session


@pytest.mark.parametrize(
    ("sign_in", "phone"),
    [
        (sign_in_by_code_on_the_page, KNOWN),
        (sign_in_by_code_headless, KNOWN),
        (sign_up_and_verify_on_the_page, UNKNOWN),
    ],
)
def test_a_phone_sign_in_keeps_the_owners_share_once_signed_out(
    sign_in, phone, voiceotp, monkeypatch, on_commit
):
    # Of the number's 5 sends a day, 3 are its owner's: strangers have 2.
    voiceotp(SENDS_PER_NUMBER_PER_DAY=5)
    monkeypatch.setattr(adapter_module, "generate_code", lambda: "482915")
    account()  # KNOWN's; UNKNOWN gets its account by signing up
    owner = Client()
    # No Verification row and no cookie yet: the first code is a stranger's send.
    sign_in(owner, on_commit, "203.0.113.7")
    assert not Verification.objects.exists()

    assert on_commit(lambda: login_code(phone, "198.51.100.1")).status_code == 302
    assert on_commit(lambda: login_code(phone, "198.51.100.2")).status_code == 429

    # Signed out, from an address that never asked: the owner's cookie keeps its share.
    again = on_commit(
        lambda: owner.post(
            reverse("account_request_login_code"), {"phone": phone}, REMOTE_ADDR="192.0.2.44"
        )
    )
    assert again.status_code == 302
    assert Call.objects.count() == 3


@pytest.mark.parametrize("verified", [False, True])
def test_a_sign_in_sets_the_owner_cookie_only_for_a_verified_number(rf, verified):
    request = rf.get("/", REMOTE_ADDR="198.51.100.3")
    request.session = SessionStore()
    request._messages = FallbackStorage(request)
    request.user = user = account(verified=verified)
    response = VoiceOTPAccountAdapter().post_login(
        request,
        user,
        email_verification="none",
        signal_kwargs=None,
        email=None,
        signup=False,
        redirect_url=None,
    )
    assert response.status_code == 302
    assert (OWNER_COOKIE in response.cookies) is verified
