"""The two-factor call gateway, with the real django-two-factor-auth: its login by phone call."""

from __future__ import annotations

import logging

import pytest
from django.contrib.auth import get_user_model
from two_factor.plugins.phonenumber.models import PhoneDevice

from django_voiceotp.contrib.two_factor import VoiceOTPGateway
from django_voiceotp.models import Call
from django_voiceotp.sealing import open_otp

pytestmark = pytest.mark.urls("tests.urls_two_factor")

LOGIN = "/account/login/"


@pytest.fixture
def user(db):
    return get_user_model().objects.create_user("lan", password="correct horse")


def phone_device(user, number="+84771122330"):
    return PhoneDevice.objects.create(user=user, name="default", number=number, method="call")


@pytest.mark.django_db(transaction=True)
def test_logging_in_with_a_call(client, sandbox, callbacks_to, user, signals):
    phone_device(user)
    response = client.post(
        LOGIN,
        {
            "login_view-current_step": "auth",
            "auth-username": "lan",
            "auth-password": "correct horse",
        },
    )
    assert response.status_code == 200
    assert response.context["wizard"]["steps"].current == "token"

    # two-factor asked the gateway to call: the call went through this app and the sandbox.
    [simulated] = sandbox.calls
    assert simulated.phone_number == "0771122330"
    call = Call.objects.get()
    assert call.otp != simulated.otp  # sealed, never in clear
    assert sandbox.wait_for_callbacks()
    call.refresh_from_db()
    assert call.status == Call.Status.SUCCESS
    assert ("succeeded", None) in signals.names(call.pk)

    response = client.post(
        LOGIN, {"login_view-current_step": "token", "token-otp_token": simulated.otp}
    )
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(user.pk)


@pytest.mark.django_db(transaction=True)
def test_a_wrong_token_does_not_log_in(client, sandbox, user):
    phone_device(user)
    client.post(
        LOGIN,
        {
            "login_view-current_step": "auth",
            "auth-username": "lan",
            "auth-password": "correct horse",
        },
    )
    wrong = "000000" if sandbox.calls[0].otp != "000000" else "111111"
    response = client.post(LOGIN, {"login_view-current_step": "token", "token-otp_token": wrong})
    assert response.status_code == 200
    assert "_auth_user_id" not in client.session


@pytest.mark.django_db
def test_the_gateway_keeps_to_the_abuse_limits(user, caplog):
    device = phone_device(user)
    gateway = VoiceOTPGateway()
    call = gateway.make_call(device=device, token="482915")
    assert call.phone_number == "0771122330" and open_otp(call.otp) == "482915"  # not yet sent
    with caplog.at_level(logging.WARNING, logger="django_voiceotp"):
        assert gateway.make_call(device=device, token="482915") is None
    assert "not placed" in caplog.text and "482915" not in caplog.text
    assert Call.objects.count() == 1


@pytest.mark.django_db
def test_the_gateway_calls_allowed_destinations_only(user):
    foreign = phone_device(user, number="+12125550100")
    assert VoiceOTPGateway().make_call(device=foreign, token="482915") is None
    assert Call.objects.count() == 0
    with pytest.raises(NotImplementedError):
        VoiceOTPGateway().send_sms(device=foreign, token="482915")


def test_two_factor_offers_the_call_method(settings):
    from two_factor.plugins.registry import registry

    assert settings.TWO_FACTOR_CALL_GATEWAY == "django_voiceotp.contrib.two_factor.VoiceOTPGateway"
    assert registry.get_method("call") is not None


# -- test numbers --------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_test_number_gets_no_call_when_two_factor_asks_for_one(client, sandbox, user, voiceotp):
    voiceotp(TEST_NUMBERS={"+84 77 000 0001": "246810"})
    phone_device(user, number="+84770000001")
    response = client.post(
        LOGIN,
        {
            "login_view-current_step": "auth",
            "auth-username": "lan",
            "auth-password": "correct horse",
        },
    )
    assert response.context["wizard"]["steps"].current == "token"
    assert sandbox.requests == []  # the provider heard nothing: no token, no call
    call = Call.objects.get()
    assert call.is_test and call.status == Call.Status.SUCCESS and call.otp == ""


@pytest.mark.django_db
def test_the_gateway_records_a_test_call_within_the_limits(user, voiceotp, enqueued):
    voiceotp(TEST_NUMBERS={"+84 77 000 0001": "246810"})
    device = phone_device(user, number="+84770000001")
    call = VoiceOTPGateway().make_call(device=device, token="482915")
    assert call.is_test and call.otp == "" and enqueued == []
    assert VoiceOTPGateway().make_call(device=device, token="482915") is None  # the cooldown
    assert Call.objects.count() == 1
