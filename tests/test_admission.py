"""The admission gate: one parse of a number, one destination policy, for every entry point."""

from __future__ import annotations

import phonenumbers
import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse
from rest_framework.test import APIClient

from django_voiceotp import limits, request_code, send_otp
from django_voiceotp.checks import check_verification_settings
from django_voiceotp.contrib.otp.models import VoiceCallDevice
from django_voiceotp.contrib.two_factor import VoiceOTPGateway
from django_voiceotp.exceptions import ImproperlyConfigured, PhoneNumberNotAllowed, RateLimited
from django_voiceotp.models import Call, Verification

pytestmark = pytest.mark.django_db

MOBILE = "+84 77 112 2330"
FIXED_LINE = "+84 24 3936 4321"
TOLL_FREE = "1800 1234"
PREMIUM_RATE = "1900 1234"


@pytest.fixture
def parses(monkeypatch):
    """Counts calls of phonenumbers.parse from here on."""
    calls = []
    real_parse = phonenumbers.parse

    def counting_parse(*args, **kwargs):
        calls.append(args[0])
        return real_parse(*args, **kwargs)

    monkeypatch.setattr(phonenumbers, "parse", counting_parse)
    return calls


@pytest.fixture
def user():
    return get_user_model().objects.create_user("lan", password="not-used-here")


def device(user, number: str) -> VoiceCallDevice:
    return VoiceCallDevice.objects.create(user=user, name="phone", number=number)


class TwoFactorDevice:
    """What the gateway reads of two-factor's PhoneDevice."""

    def __init__(self, number: str):
        self.number = number


# -- one parse -----------------------------------------------------------------------------------


def test_one_request_for_a_code_over_http_parses_the_number_once(parses):
    response = APIClient(REMOTE_ADDR="203.0.113.7").post(
        reverse("django_voiceotp:verification-list"), {"phone_number": MOBILE}, format="json"
    )
    assert response.status_code == 201
    assert parses == [MOBILE]
    assert Call.objects.get().phone_number == "0771122330"


def test_request_code_parses_the_number_once(parses):
    verification = request_code(MOBILE, client_ip="203.0.113.7")
    assert parses == [MOBILE]
    assert verification.phone_number == "0771122330"
    assert verification.call.phone_number == "0771122330"


def test_the_integrations_parse_the_number_once(parses, user):
    assert device(user, MOBILE).generate_challenge() == "We are calling you with a code."
    assert parses == [MOBILE]
    parses.clear()
    assert VoiceOTPGateway().make_call(TwoFactorDevice("+84901234567"), "123456") is not None
    assert parses == ["+84901234567"]


def test_send_otp_takes_the_number_the_gate_handed_back_as_it_is(parses):
    with limits.admit(MOBILE) as number:
        assert number == "0771122330" and isinstance(number, str)
        call = send_otp(number, "123456")
    assert parses == [MOBILE]
    assert call.phone_number == "0771122330"


def test_send_otp_still_takes_any_spelling(parses):
    assert send_otp("84 77 112 2330", "123456").phone_number == "0771122330"
    assert parses == ["84 77 112 2330"]


# -- the destination policy, the same at every door ----------------------------------------------


def every_entry_point(user, number: str) -> dict:
    """Ask each entry point for a call to ``number``; say what each answered."""
    answers = {}
    try:
        request_code(number)
        answers["request_code"] = "placed"
    except PhoneNumberNotAllowed:
        answers["request_code"] = "not allowed"
    response = APIClient().post(
        reverse("django_voiceotp:verification-list"), {"phone_number": number}, format="json"
    )
    answers["api"] = response.status_code, response.json()
    answers["device"] = device(user, number).generate_challenge()
    gateway_call = VoiceOTPGateway().make_call(TwoFactorDevice(number), "123456")
    answers["two_factor"] = "placed" if gateway_call else "not placed"
    return answers


@pytest.mark.parametrize("number", [TOLL_FREE, PREMIUM_RATE])
def test_numbers_of_other_types_are_refused_at_every_door(user, voiceotp, number):
    voiceotp(DENIED_PREFIXES=())  # the type alone refuses them
    assert every_entry_point(user, number) == {
        "request_code": "not allowed",
        "api": (400, {"phone_number": ["This number cannot be called."]}),
        "device": "This number cannot be called.",
        "two_factor": "not placed",
    }
    assert Call.objects.count() == Verification.objects.count() == 0


def test_mobile_and_fixed_line_numbers_are_called_by_default(voiceotp):
    voiceotp(RESEND_COOLDOWN=0)
    for number in (MOBILE, FIXED_LINE, "+1 212 555 0100"):  # the last one: fixed line or mobile
        voiceotp(ALLOWED_COUNTRY_CODES=(84, 1))
        request_code(number)
    assert Call.objects.count() == 3


def test_allowed_number_types_is_a_setting(voiceotp):
    voiceotp(ALLOWED_NUMBER_TYPES=("TOLL_FREE",))
    assert request_code(TOLL_FREE).phone_number == "18001234"
    with pytest.raises(PhoneNumberNotAllowed):
        request_code(MOBILE)
    voiceotp(ALLOWED_NUMBER_TYPES=None, DENIED_PREFIXES=())
    assert request_code(PREMIUM_RATE).phone_number == "19001234"


def test_an_unknown_number_type_is_a_configuration_error(voiceotp):
    voiceotp(ALLOWED_NUMBER_TYPES=("MOBILE", "CELLPHONE"))
    with pytest.raises(ImproperlyConfigured, match="ALLOWED_NUMBER_TYPES"):
        request_code(MOBILE)
    messages = check_verification_settings()
    assert [(m.id, "ALLOWED_NUMBER_TYPES" in m.msg) for m in messages if m.level >= 40] == [
        ("django_voiceotp.E006", True)
    ]


def test_a_refused_destination_counts_nothing(voiceotp, clock):
    voiceotp(RESEND_COOLDOWN=0, SENDS_PER_IP_PER_HOUR=1)
    with pytest.raises(PhoneNumberNotAllowed):
        request_code(TOLL_FREE, client_ip="203.0.113.7")
    request_code(MOBILE, client_ip="203.0.113.7")  # the address's one send is still there


# -- the client address --------------------------------------------------------------------------


def test_the_device_counts_the_client_address_it_is_given(user, voiceotp, clock):
    voiceotp(RESEND_COOLDOWN=0, SENDS_PER_IP_PER_HOUR=1)
    first = device(user, MOBILE).generate_challenge(client_ip="203.0.113.7")
    assert first == "We are calling you with a code."
    second = device(user, "0901234567").generate_challenge(client_ip="203.0.113.7")
    assert second == f"Too many calls. Try again in {45 * 60} seconds."
    assert Call.objects.count() == 1


def test_the_gate_gives_the_quota_back_when_the_call_is_not_placed(voiceotp):
    with pytest.raises(RuntimeError), limits.admit(MOBILE):
        raise RuntimeError("the send failed")
    with limits.admit(MOBILE) as number:  # no cooldown was left behind
        assert number == "0771122330"
    with pytest.raises(RateLimited), limits.admit(MOBILE):
        pass


# -- who asks, as the gate is told -----------------------------------------------------------------


@pytest.fixture
def gate_calls(monkeypatch):
    """The keyword arguments each limits.admit call gets, the gate still doing its work."""
    calls = []
    real_admit = limits.admit

    def recording_admit(phone_number, **kwargs):
        calls.append(kwargs)
        return real_admit(phone_number, **kwargs)

    monkeypatch.setattr(limits, "admit", recording_admit)
    return calls


def test_request_code_tells_the_gate_the_client_and_the_owner(gate_calls, voiceotp):
    voiceotp(RESEND_COOLDOWN=0)
    request_code(MOBILE, client_ip="203.0.113.7")
    request_code(MOBILE, client_ip="203.0.113.7", owner=True)
    request_code("0901234567", client_ip="unknown")
    assert gate_calls == [
        {"client_ip": "203.0.113.7", "owner": False},
        {"client_ip": "203.0.113.7", "owner": True},
        {"client_ip": "unknown", "owner": False},
    ]


def test_the_http_api_tells_the_gate_the_client_and_the_owner(gate_calls, voiceotp, monkeypatch):
    from django_voiceotp import verification

    voiceotp(RESEND_COOLDOWN=0)
    monkeypatch.setattr(verification, "generate_code", lambda length=None: "482915")
    owner = APIClient(REMOTE_ADDR="203.0.113.7")
    asked = owner.post(
        reverse("django_voiceotp:verification-list"), {"phone_number": MOBILE}, format="json"
    )
    checked = owner.post(
        reverse("django_voiceotp:verification-check", kwargs={"pk": asked.json()["id"]}),
        {"code": "482915"},
        format="json",
    )
    assert checked.status_code == 200
    again = owner.post(
        reverse("django_voiceotp:verification-list"), {"phone_number": MOBILE}, format="json"
    )
    unknown = APIClient(REMOTE_ADDR="").post(
        reverse("django_voiceotp:verification-list"), {"phone_number": "0901234567"}, format="json"
    )
    assert again.status_code == unknown.status_code == 201
    assert gate_calls == [
        {"client_ip": "203.0.113.7", "owner": False},  # not yet verified
        {"client_ip": "203.0.113.7", "owner": True},
        {"client_ip": "unknown", "owner": False},
    ]
