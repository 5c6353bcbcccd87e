"""VoiceCallDevice with the real django-otp: challenge by call, hashed token, single use, limits."""

from __future__ import annotations

from datetime import timedelta

import django_otp
import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone
from django_otp.forms import OTPTokenForm

from django_voiceotp.contrib.otp import models as device_module
from django_voiceotp.contrib.otp.models import VoiceCallDevice
from django_voiceotp.models import Call

from .concurrency import race

CODE = "048291"


@pytest.fixture
def user(db):
    return get_user_model().objects.create_user("lan", password="not-used-here")


@pytest.fixture
def device(user):
    return VoiceCallDevice.objects.create(user=user, name="phone", number="+84 77 112 2330")


@pytest.fixture
def known_code(monkeypatch):
    monkeypatch.setattr(device_module, "generate_code", lambda length=None: CODE)
    return CODE


@pytest.mark.django_db(transaction=True)
def test_a_challenge_calls_and_the_code_verifies_once(sandbox, user, device):
    message = device.generate_challenge()
    assert message == "We are calling you with a code."

    [simulated] = sandbox.calls
    code = simulated.otp
    assert simulated.phone_number == "0771122330" and len(code) == 6
    device.refresh_from_db()
    assert device.token and code not in device.token  # only the hash is stored
    assert device.last_call.status == Call.Status.SENT
    assert code not in repr(device)

    verified = django_otp.verify_token(user, device.persistent_id, code)
    assert verified == device
    assert django_otp.verify_token(user, device.persistent_id, code) is None  # single use
    device.refresh_from_db()
    assert device.token is None and device.last_used_at is not None


@pytest.mark.django_db
def test_django_otps_form_challenges_and_verifies(user, device, known_code):
    form = OTPTokenForm(
        user, data={"otp_device": device.persistent_id, "otp_token": "", "otp_challenge": "1"}
    )
    assert not form.is_valid()
    assert "We are calling you with a code." in str(form.errors)
    form = OTPTokenForm(user, data={"otp_device": device.persistent_id, "otp_token": known_code})
    assert form.is_valid(), form.errors
    assert form.get_user() == user


@pytest.mark.django_db
def test_the_cooldown_holds_back_a_second_call(device, known_code):
    device.generate_challenge()
    message = device.generate_challenge()
    assert message.startswith("A call was just made. Try again in")
    assert Call.objects.count() == 1


@pytest.mark.django_db
def test_the_abuse_limits_apply(device, known_code, voiceotp, clock):
    voiceotp(RESEND_COOLDOWN=0, SENDS_PER_NUMBER_PER_HOUR=1)
    device.generate_challenge()
    clock.shift(1)  # django-otp's own cooldown refuses a second challenge at the same instant
    assert device.generate_challenge().startswith("Too many calls. Try again in")
    assert Call.objects.count() == 1


@pytest.mark.django_db
def test_numbers_outside_the_rules_are_not_called(user):
    foreign = VoiceCallDevice.objects.create(user=user, name="us", number="+1 212 555 0100")
    assert foreign.generate_challenge() == "This number cannot be called."
    assert Call.objects.count() == 0


@pytest.mark.django_db
def test_wrong_tries_are_throttled_then_kill_the_code(device, known_code, voiceotp, settings):
    settings.OTP_VOICE_THROTTLE_FACTOR = 0  # no waiting between tries, to reach the cap
    voiceotp(MAX_ATTEMPTS=3)
    device.generate_challenge()
    assert [device.verify_token(wrong) for wrong in ("111111", "222222", "333333")] == [False] * 3
    device.refresh_from_db()
    assert device.token is None
    assert device.verify_token(known_code) is False


@pytest.mark.django_db
def test_throttling_follows_django_otp(device, known_code, time_machine):
    time_machine.move_to(timezone.now(), tick=False)
    device.generate_challenge()
    assert device.verify_token("111111") is False
    assert device.verify_is_allowed()[0] is False
    assert device.verify_token(known_code) is False  # refused while throttled, not counted
    time_machine.shift(timedelta(seconds=1))
    assert device.verify_token(known_code) is True


@pytest.mark.django_db
def test_codes_expire(device, known_code, time_machine):
    time_machine.move_to(timezone.now(), tick=False)
    device.generate_challenge()
    time_machine.shift(timedelta(seconds=301))
    assert device.verify_token(known_code) is False


@pytest.mark.django_db(transaction=True)
def test_checks_at_once_verify_once(user, known_code):
    device = VoiceCallDevice.objects.create(user=user, name="phone", number="0771122330")
    assert device.generate_token() == CODE  # no call: only the check is under test here
    copies = [VoiceCallDevice.objects.get(pk=device.pk) for _ in range(5)]
    results = race(lambda index: copies[index].verify_token(CODE), count=5)
    assert sorted(results) == [False] * 4 + [True]


# -- test numbers --------------------------------------------------------------------------------

TEST_NUMBER = "+84 77 000 0001"
#: Outside the ranges assigned to operators (phonenumbers: possible, not valid).
UNASSIGNED_TEST_NUMBER = "+84 71 000 0001"
FIXED_CODE = "246810"


@pytest.mark.parametrize("number", [TEST_NUMBER, UNASSIGNED_TEST_NUMBER])
@pytest.mark.django_db(transaction=True)
def test_a_test_number_gets_its_fixed_code_and_no_call(sandbox, user, voiceotp, settings, number):
    settings.OTP_VOICE_THROTTLE_FACTOR = 0  # no waiting after the wrong try below
    voiceotp(TEST_NUMBERS={number: FIXED_CODE})
    device = VoiceCallDevice.objects.create(user=user, name="phone", number=number)
    assert device.generate_challenge() == "We are calling you with a code."
    assert sandbox.requests == []  # the provider heard nothing: no token, no call
    call = Call.objects.get()
    assert call.is_test and call.status == Call.Status.SUCCESS and call.otp == ""
    device.refresh_from_db()
    assert device.last_call == call
    assert FIXED_CODE not in device.token  # its hash only, as for any code

    assert django_otp.verify_token(user, device.persistent_id, "999999") is None
    assert django_otp.verify_token(user, device.persistent_id, FIXED_CODE) == device
    assert django_otp.verify_token(user, device.persistent_id, FIXED_CODE) is None  # once


@pytest.mark.django_db
def test_a_test_number_keeps_to_the_limits(user, voiceotp, clock):
    voiceotp(TEST_NUMBERS={TEST_NUMBER: FIXED_CODE}, RESEND_COOLDOWN=0, SENDS_PER_NUMBER_PER_HOUR=1)
    device = VoiceCallDevice.objects.create(user=user, name="phone", number=TEST_NUMBER)
    device.generate_challenge()
    clock.shift(1)
    assert device.generate_challenge().startswith("Too many calls. Try again in")
    assert Call.objects.count() == 1


@pytest.mark.django_db
def test_wrong_guesses_at_a_test_number_count_across_challenges(user, voiceotp, settings, clock):
    settings.OTP_VOICE_THROTTLE_FACTOR = 0
    voiceotp(TEST_NUMBERS={TEST_NUMBER: FIXED_CODE}, TEST_GUESSES_PER_DAY=4)
    voiceotp(RESEND_COOLDOWN=0, SENDS_PER_NUMBER_PER_HOUR=None, SENDS_PER_NUMBER_PER_DAY=None)
    device = VoiceCallDevice.objects.create(user=user, name="phone", number=TEST_NUMBER)
    for _ in range(2):  # two challenges, two wrong guesses each: under MAX_ATTEMPTS every time
        clock.shift(1)
        device.generate_challenge()
        assert [device.verify_token(wrong) for wrong in ("111111", "222222")] == [False, False]
    clock.shift(1)
    device.generate_challenge()
    assert device.verify_token(FIXED_CODE) is False  # locked for the day
    device.refresh_from_db()
    assert device.token is None
