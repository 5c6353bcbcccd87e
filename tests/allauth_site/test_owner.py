"""The owner's share of a number's day holds through allauth as through the HTTP API: a client
that verified the number before, or the signed-in user whose verified number it is, may spend
what strangers cannot, whether or not the number has an account."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from django_voiceotp import limits
from django_voiceotp.contrib.allauth import adapter as adapter_module
from django_voiceotp.contrib.allauth.adapter import VoiceOTPAccountAdapter
from django_voiceotp.contrib.allauth.models import PhoneNumber
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
