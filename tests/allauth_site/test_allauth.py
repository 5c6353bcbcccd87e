"""django-allauth's phone flows with the voice-call adapter, against the real package."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.urls import reverse
from django.utils import translation

from django_voiceotp import verification
from django_voiceotp.contrib.allauth import adapter as adapter_module
from django_voiceotp.contrib.allauth.models import PhoneNumber
from django_voiceotp.models import Call

PHONE = "+84771122330"
CODE = "482915"
HEADLESS = "/_allauth/browser/v1"

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def known_code(monkeypatch):
    monkeypatch.setattr(adapter_module, "generate_code", lambda: CODE)


@pytest.fixture
def on_commit(django_capture_on_commit_callbacks):
    """Run what waits for the commit, as a real request's end would."""

    def run(action):
        with django_capture_on_commit_callbacks(execute=True):
            return action()

    return run


def sign_up(client, phone=PHONE, username="lan"):
    return client.post(
        reverse("account_signup"),
        {
            "phone": phone,
            "username": username,
            "password1": "a-long-pass-9",
            "password2": "a-long-pass-9",
        },
        REMOTE_ADDR="203.0.113.7",
    )


def user_with_phone(phone=PHONE, verified=True):
    user = get_user_model().objects.create_user("minh", password="a-long-pass-9")
    PhoneNumber.objects.create(user=user, phone=phone, verified=verified)
    return user


# -- the headed (HTML) flows ---------------------------------------------------------------------


def test_sign_up_with_a_phone_number_calls_it_with_a_numeric_code(client, enqueued, on_commit):
    response = on_commit(lambda: sign_up(client))
    assert response.status_code == 302
    assert response["Location"] == reverse("account_verify_phone")
    call = Call.objects.get()
    assert enqueued == [call.pk]  # placed after the commit, by Celery
    assert call.phone_number == "0771122330" and call.status == Call.Status.PENDING
    assert not PhoneNumber.objects.get().verified

    wrong = client.post(reverse("account_verify_phone"), {"code": "000000"})
    assert wrong.status_code == 200 and "Incorrect code." in wrong.content.decode()
    right = client.post(reverse("account_verify_phone"), {"code": CODE})
    assert right.status_code == 302
    assert PhoneNumber.objects.get().verified
    assert client.session["_auth_user_id"] == str(get_user_model().objects.get().pk)


def test_codes_are_digits_of_code_length(voiceotp, monkeypatch):
    # allauth's own phone codes mix letters and digits; read aloud, they must be digits.
    monkeypatch.setattr(adapter_module, "generate_code", verification.generate_code)
    voiceotp(CODE_LENGTH=8)
    code = adapter_module.VoiceOTPAccountAdapter().generate_phone_verification_code(
        user=None, phone=PHONE
    )
    assert len(code) == 8 and code.isdigit()


@pytest.mark.django_db(transaction=True)
def test_the_call_reads_allauths_code_through_the_provider(client, sandbox):
    sign_up(client)
    (placed,) = sandbox.calls
    assert placed.otp == CODE
    call = Call.objects.get()
    assert call.provider_call_id and call.status in (Call.Status.SENT, Call.Status.SUCCESS)


def test_the_verification_resend_calls_again_after_the_cooldown(
    client, enqueued, on_commit, time_machine
):
    time_machine.move_to("2026-03-02 10:15:00+00:00", tick=False)
    on_commit(lambda: sign_up(client))
    resend = {"action": "resend"}

    refused = on_commit(lambda: client.post(reverse("account_verify_phone"), resend, follow=True))
    assert refused.status_code == 200  # allauth's own "be patient" message, not an error page
    assert "Be patient, you are sending too many requests." in refused.content.decode()
    assert Call.objects.count() == 1

    time_machine.shift(61)
    response = on_commit(lambda: client.post(reverse("account_verify_phone"), resend))
    assert response.status_code == 302
    assert Call.objects.count() == 2 and len(enqueued) == 2
    assert client.post(reverse("account_verify_phone"), {"code": CODE}).status_code == 302
    assert PhoneNumber.objects.get().verified


def test_login_by_phone_calls_with_a_login_code(client, enqueued, on_commit):
    user = user_with_phone()
    response = on_commit(
        lambda: client.post(
            reverse("account_request_login_code"), {"phone": PHONE}, REMOTE_ADDR="203.0.113.7"
        )
    )
    assert response.status_code == 302
    call = Call.objects.get()
    assert enqueued == [call.pk] and call.phone_number == "0771122330"
    confirm = client.post(reverse("account_confirm_login_code"), {"code": CODE})
    assert confirm.status_code == 302
    assert client.session["_auth_user_id"] == str(user.pk)


def test_a_limited_call_is_a_429_that_says_how_long_to_wait(
    client, enqueued, voiceotp, on_commit, time_machine
):
    time_machine.move_to("2026-03-02 10:15:00+00:00", tick=False)
    voiceotp(SENDS_PER_IP_PER_HOUR=1, RESEND_COOLDOWN=0)
    user_with_phone()
    request_code = reverse("account_request_login_code")
    first = on_commit(
        lambda: client.post(request_code, {"phone": PHONE}, REMOTE_ADDR="203.0.113.7")
    )
    assert first.status_code == 302
    # The same client address, another number: the address's limit refuses it.
    refused = on_commit(lambda: sign_up(client.__class__(), phone="+84901234561", username="an"))
    assert refused.status_code == 429
    assert refused["Retry-After"] == "2700"  # the address's hour ends at 11:00
    page = refused.content.decode()
    assert "Too many calls" in page
    assert "You can ask for a new call in 45 minutes." in page
    assert Call.objects.count() == len(enqueued) == 1


def test_a_number_this_site_does_not_call_is_a_form_error(client, enqueued):
    for phone in ("+12125550100", "+8419001234"):
        response = sign_up(client, phone=phone)
        assert response.status_code == 200
        assert response.context["form"].errors["phone"] == ["This number cannot be called."]
    assert Call.objects.count() == 0 and get_user_model().objects.count() == 0


def test_a_stored_number_the_rules_now_refuse_places_no_call_and_no_error(
    client, enqueued, voiceotp, on_commit
):
    user_with_phone()
    voiceotp(ALLOWED_COUNTRY_CODES=(1,))
    # Typed in the login form, the number is refused there already.
    typed = client.post(reverse("account_request_login_code"), {"phone": PHONE})
    assert typed.status_code == 200 and typed.context["form"].errors["phone"]
    # Reached through the hook directly (a number stored before the rules changed): no call.
    adapter_module.VoiceOTPAccountAdapter().send_verification_code_sms(
        user=None, phone=PHONE, code=CODE
    )
    assert Call.objects.count() == 0


def test_no_active_campaign_places_no_call_and_says_so(client, enqueued, on_commit):
    from django_voiceotp.models import Campaign

    Campaign.objects.create(campaign_id="c78af", is_active=False)  # DEFAULT_CAMPAIGN, off
    response = on_commit(lambda: sign_up(client))
    assert response.status_code == 302  # allauth's own flow goes on: no server error
    shown = [str(message) for message in response.wsgi_request._messages]
    assert "Calls cannot be placed right now." in shown
    assert Call.objects.count() == 0 and enqueued == []


# -- test numbers --------------------------------------------------------------------------------


def test_a_test_number_signs_up_with_its_fixed_code_and_no_call(
    client, enqueued, voiceotp, on_commit
):
    voiceotp(TEST_NUMBERS={"+84 77 000 0001": "135790"})
    on_commit(lambda: sign_up(client, phone="+84770000001"))
    call = Call.objects.get()
    assert call.is_test and call.status == Call.Status.SUCCESS and enqueued == []
    assert client.post(reverse("account_verify_phone"), {"code": CODE}).status_code == 200
    assert client.post(reverse("account_verify_phone"), {"code": "135790"}).status_code == 302
    assert PhoneNumber.objects.get().verified


def test_a_test_number_is_still_limited(client, enqueued, voiceotp, on_commit):
    voiceotp(TEST_NUMBERS={"+84 77 000 0001": "135790"}, SENDS_PER_IP_PER_HOUR=1)
    on_commit(lambda: sign_up(client, phone="+84770000001"))
    refused = on_commit(lambda: sign_up(client.__class__(), phone="+84770000002", username="an"))
    assert refused.status_code == 429
    assert Call.objects.count() == 1


# -- the headless API ----------------------------------------------------------------------------


def post_json(client, path, body):
    return client.post(
        f"{HEADLESS}{path}", body, content_type="application/json", REMOTE_ADDR="203.0.113.7"
    )


def test_headless_sign_up_verify_and_resend(client, enqueued, on_commit, time_machine):
    time_machine.move_to("2026-03-02 10:15:00+00:00", tick=False)
    signup = on_commit(
        lambda: post_json(
            client, "/auth/signup", {"phone": PHONE, "username": "lan", "password": "a-long-pass-9"}
        )
    )
    assert signup.status_code == 401
    pending = [flow["id"] for flow in signup.json()["data"]["flows"] if flow.get("is_pending")]
    assert pending == ["verify_phone"]
    assert Call.objects.count() == len(enqueued) == 1

    refused = on_commit(lambda: post_json(client, "/auth/phone/verify/resend", {}))
    assert refused.status_code == 429
    time_machine.shift(61)
    resent = on_commit(lambda: post_json(client, "/auth/phone/verify/resend", {}))
    assert resent.status_code == 200
    assert Call.objects.count() == len(enqueued) == 2

    assert post_json(client, "/auth/phone/verify", {"code": "000000"}).status_code == 400
    verified = post_json(client, "/auth/phone/verify", {"code": CODE})
    assert verified.status_code == 200
    assert verified.json()["meta"]["is_authenticated"] is True
    assert PhoneNumber.objects.get().verified


def test_headless_login_by_phone_code(client, enqueued, on_commit):
    user = user_with_phone()
    requested = on_commit(lambda: post_json(client, "/auth/code/request", {"phone": PHONE}))
    assert requested.status_code == 401
    assert Call.objects.count() == len(enqueued) == 1
    confirmed = post_json(client, "/auth/code/confirm", {"code": CODE})
    assert confirmed.status_code == 200
    assert confirmed.json()["data"]["user"]["id"] == user.pk


def test_headless_refusals_are_allauths_own_errors(client, enqueued, voiceotp, on_commit):
    invalid = post_json(
        client,
        "/auth/signup",
        {"phone": "+12125550100", "username": "lan", "password": "a-long-pass-9"},
    )
    assert invalid.status_code == 400
    assert [error["param"] for error in invalid.json()["errors"]] == ["phone"]

    voiceotp(SENDS_PER_IP_PER_HOUR=1, RESEND_COOLDOWN=0)
    user_with_phone()
    assert (
        on_commit(lambda: post_json(client, "/auth/code/request", {"phone": PHONE})).status_code
        == 401
    )
    other = client.__class__()
    refused = on_commit(lambda: post_json(other, "/auth/code/request", {"phone": PHONE}))
    assert refused.status_code == 429
    assert Call.objects.count() == 1


# -- numbers as people write them ----------------------------------------------------------------


def test_a_national_form_number_signs_up_and_logs_in_as_one_account(client, enqueued, on_commit):
    # How every Vietnamese person writes a number (PHONE_REGION "VN"): not E.164.
    response = on_commit(lambda: sign_up(client, phone="0771 122 330"))
    assert response.status_code == 302
    assert PhoneNumber.objects.get().phone == PHONE  # stored once, in E.164
    assert client.post(reverse("account_verify_phone"), {"code": CODE}).status_code == 302

    cache.clear()  # the number's cooldown
    for spelling in ("0771122330", "+84 77 112 2330", "84771122330"):
        other = client.__class__()
        requested = on_commit(
            lambda other=other, spelling=spelling: other.post(
                reverse("account_request_login_code"), {"phone": spelling}
            )
        )
        assert requested.status_code == 302, spelling
        confirmed = other.post(reverse("account_confirm_login_code"), {"code": CODE})
        assert confirmed.status_code == 302
        assert other.session["_auth_user_id"] == str(get_user_model().objects.get().pk)
        cache.clear()  # the number's cooldown, for the next spelling
    assert Call.objects.filter(phone_number="0771122330").count() == 4


def test_a_national_form_number_through_the_headless_api(client, enqueued, on_commit):
    signup = on_commit(
        lambda: post_json(
            client,
            "/auth/signup",
            {"phone": "0771122330", "username": "lan", "password": "a-long-pass-9"},
        )
    )
    assert signup.status_code == 401
    assert PhoneNumber.objects.get().phone == PHONE
    assert post_json(client, "/auth/phone/verify", {"code": CODE}).status_code == 200


def test_what_is_not_a_number_is_a_form_error_that_says_so(client):
    response = sign_up(client, phone="077112")
    assert response.context["form"].errors["phone"] == ["Enter a valid phone number."]


# -- what the pages say --------------------------------------------------------------------------


def test_the_pages_say_the_phone_is_being_called(client, enqueued, on_commit):
    user_with_phone()
    requested = on_commit(
        lambda: client.post(
            reverse("account_request_login_code"), {"phone": "0771122330"}, follow=True
        )
    )
    page = requested.content.decode()
    assert "We are calling +84771122330 to read out your sign-in code." in page
    assert "We are calling" in page and "a voice reads out your code" in page
    assert "sent" not in " ".join(page.split())

    signed_up = on_commit(lambda: sign_up(client.__class__(), phone="0901234561", username="an"))
    assert signed_up.status_code == 302
    shown = [str(message) for message in signed_up.wsgi_request._messages]
    assert shown == ["We are calling +84901234561 to read out your verification code."]


def test_the_confirm_page_is_allauths_but_for_its_sentence():
    # allauth's own template, with the one sentence replaced: an allauth upgrade that changes
    # its page shows here, so the copy can follow it.
    import allauth

    theirs = (
        Path(allauth.__file__).parent / "templates/account/base_confirm_code.html"
    ).read_text()
    ours = (
        Path(adapter_module.__file__).parent / "templates/account/base_confirm_code.html"
    ).read_text()
    lines = ours.splitlines()
    assert lines[1].startswith("{% comment %}")
    start = lines.index("        {% if phone and not email %}")
    assert lines[start + 2] == "        {% else %}"
    kept = lines[:1] + lines[2:start] + [lines[start + 3][4:]] + lines[start + 5 :]
    assert kept == theirs.splitlines()


def test_the_wait_in_words():
    assert adapter_module.waiting_time(1) == "1 second"
    assert adapter_module.waiting_time(45) == "45 seconds"
    assert adapter_module.waiting_time(61) == "2 minutes"
    assert adapter_module.waiting_time(41690) == "11 hours, 35 minutes"


def test_the_pages_say_it_in_vietnamese(client, enqueued, on_commit, voiceotp, time_machine):
    time_machine.move_to("2026-03-02 10:15:00+00:00", tick=False)
    user_with_phone()
    with translation.override("vi"):
        requested = on_commit(
            lambda: client.post(
                reverse("account_request_login_code"), {"phone": PHONE}, REMOTE_ADDR="203.0.113.7"
            )
        )
        page = client.get(requested["Location"]).content.decode()
        assert "Chúng tôi đang gọi tới" in page and "hãy nghe máy" in page
        assert "Chúng tôi đang gọi tới +84771122330 để đọc mã đăng nhập của bạn." in page

        voiceotp(SENDS_PER_IP_PER_HOUR=1, RESEND_COOLDOWN=0)
        refused = on_commit(lambda: sign_up(client.__class__(), phone="0901234561", username="an"))
        assert refused.status_code == 429
        assert "Bạn có thể yêu cầu cuộc gọi mới sau 45 phút." in refused.content.decode()
        assert adapter_module.waiting_time(30) == "30 giây"
        assert adapter_module.waiting_time(41690) == "11 giờ, 35 phút"


def test_a_number_never_verified_neither_logs_in_nor_keeps_its_owner_out(
    client, enqueued, on_commit
):
    # A stranger signs up with someone's number and never verifies it (no code reached them).
    squatter = user_with_phone(verified=False)
    refused = on_commit(
        lambda: client.post(reverse("account_request_login_code"), {"phone": PHONE})
    )
    assert Call.objects.count() == 0  # no login code for a number nobody has verified
    assert refused.status_code == 302  # answered as for any number without an account

    # Its owner signs up with it: a call, a code, an account of their own.
    cache.clear()  # the number's cooldown
    owner = client.__class__()
    on_commit(lambda: sign_up(owner, phone="0771122330", username="lan"))
    assert Call.objects.count() == 1
    assert owner.post(reverse("account_verify_phone"), {"code": CODE}).status_code == 302
    lan = get_user_model().objects.get(username="lan")
    assert PhoneNumber.objects.get(verified=True).user == lan
    assert PhoneNumber.objects.get(verified=False).user == squatter

    cache.clear()
    again = client.__class__()
    on_commit(lambda: again.post(reverse("account_request_login_code"), {"phone": PHONE}))
    assert again.post(reverse("account_confirm_login_code"), {"code": CODE}).status_code == 302
    assert again.session["_auth_user_id"] == str(lan.pk)
