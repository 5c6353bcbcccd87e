"""Test numbers (TEST_NUMBERS): a fixed code, no call, the limits as for any number."""

from __future__ import annotations

import logging

import phonenumbers
import pytest
from django.core import checks
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from django_voiceotp import limits
from django_voiceotp import verification as verification_module
from django_voiceotp.admin.statistics import daily_stats
from django_voiceotp.checks import SUGGESTED_TEST_NUMBERS, check_test_numbers
from django_voiceotp.exceptions import InvalidPhoneNumber, PhoneNumberNotAllowed
from django_voiceotp.models import Call, Campaign, Verification
from django_voiceotp.verification import CheckResult

TEST_NUMBER = "+84 77 000 0001"
FIXED_CODE = "246810"

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _test_numbers_configured(voiceotp):
    voiceotp(TEST_NUMBERS={TEST_NUMBER: FIXED_CODE})


@pytest.fixture
def api():
    return APIClient(REMOTE_ADDR="203.0.113.7")


def ask(api, phone_number):
    return api.post(
        reverse("django_voiceotp:verification-list"), {"phone_number": phone_number}, format="json"
    )


def check(api, verification_id, code):
    url = reverse("django_voiceotp:verification-check", kwargs={"pk": verification_id})
    return api.post(url, {"code": code}, format="json")


def test_over_http_a_test_number_places_no_call_and_takes_only_its_fixed_code(
    api, enqueued, monkeypatch, django_capture_on_commit_callbacks
):
    # What a random code would have been: for a test number it must not verify.
    monkeypatch.setattr(verification_module, "generate_code", lambda length=None: "999999")
    with django_capture_on_commit_callbacks(execute=True):
        response = ask(api, "0770000001")  # the number of TEST_NUMBERS, spelled otherwise
    assert response.status_code == 201
    assert enqueued == []
    verification = Verification.objects.get()
    call = Call.objects.get()
    assert verification.is_test and verification.call == call
    assert call.is_test and call.status == Call.Status.SUCCESS and call.otp == ""
    assert call.phone_number == "0770000001"

    assert check(api, verification.pk, "999999").status_code == 400
    assert check(api, verification.pk, FIXED_CODE).status_code == 200
    assert check(api, verification.pk, FIXED_CODE).status_code == 400  # once only


def test_the_status_of_a_test_verification_reads_as_a_call_that_was_answered(api, enqueued):
    verification_id = ask(api, TEST_NUMBER).json()["id"]
    url = reverse("django_voiceotp:verification-detail", kwargs={"pk": verification_id})
    assert api.get(url).json()["call_status"] == "success"


def test_other_numbers_are_called_as_before(api, enqueued, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        assert ask(api, "0771122330").status_code == 201
    call = Call.objects.get()
    assert enqueued == [call.pk]
    assert not call.is_test and not Verification.objects.get().is_test
    assert call.status == Call.Status.PENDING


def test_the_limits_apply_to_test_numbers(api, enqueued, clock):
    assert ask(api, TEST_NUMBER).status_code == 201
    refused = ask(api, TEST_NUMBER)
    assert refused.status_code == 429
    assert refused.headers["Retry-After"] == "60"
    assert Verification.objects.count() == Call.objects.count() == 1


def test_the_destination_rules_apply_to_test_numbers(api, voiceotp, enqueued):
    voiceotp(TEST_NUMBERS={"+1 212 555 0100": FIXED_CODE})
    assert ask(api, "+1 212 555 0100").status_code == 400
    assert Verification.objects.count() == Call.objects.count() == 0


def test_the_fixed_code_is_never_logged(api, enqueued, caplog):
    with caplog.at_level(logging.DEBUG, logger="django_voiceotp"):
        verification_id = ask(api, TEST_NUMBER).json()["id"]
        check(api, verification_id, "000000")
        check(api, verification_id, FIXED_CODE)
    assert caplog.records
    assert FIXED_CODE not in caplog.text


# -- the admin and the statistics ----------------------------------------------------------------


def test_the_admin_marks_and_filters_test_calls_and_verifications(admin_client, api, enqueued):
    ask(api, TEST_NUMBER)
    ask(api, "0771122330")
    test_call = Call.objects.get(is_test=True)
    real_call = Call.objects.get(is_test=False)
    calls = reverse("admin:django_voiceotp_call_changelist")
    marker = '<span class="voiceotp-badge voiceotp-test">test</span>'

    page = admin_client.get(calls).content.decode()
    assert page.count(marker) == 1
    filtered = admin_client.get(calls, {"is_test__exact": "1"}).context["cl"].result_list
    assert list(filtered) == [test_call]
    real = admin_client.get(calls, {"is_test__exact": "0"}).context["cl"].result_list
    assert list(real) == [real_call]

    verifications = reverse("admin:django_voiceotp_verification_changelist")
    page = admin_client.get(verifications).content.decode()
    assert page.count(marker) == 1
    assert FIXED_CODE not in page
    filtered = admin_client.get(verifications, {"is_test__exact": "1"}).context["cl"].result_list
    assert [verification.call for verification in filtered] == [test_call]
    detail = admin_client.get(reverse("admin:django_voiceotp_call_change", args=[test_call.pk]))
    assert marker in detail.content.decode()


def test_statistics_count_test_calls_apart(admin_client, api, enqueued):
    ask(api, TEST_NUMBER)
    ask(api, "0771122330")
    ask(api, "0901234561")
    Call.objects.filter(phone_number="0771122330").update(status=Call.Status.SUCCESS)
    campaign = Campaign.objects.get()

    today = daily_stats(campaign, 7)[-1]
    assert (today.total, today.success, today.failed, today.test) == (2, 1, 0, 1)
    assert today.success_rate == 1.0 and today.in_progress == 1

    summary = admin_client.get(
        reverse("admin:django_voiceotp_campaign_summary", args=[campaign.pk])
    )
    assert summary.context["total"] == 2 and summary.context["success"] == 1
    assert summary.context["test"] == 1
    assert "test calls" in summary.content.decode()
    campaigns = admin_client.get(reverse("admin:django_voiceotp_campaign_changelist"))
    listed = campaigns.context["cl"].result_list[0]
    assert (listed.recent_total, listed.recent_success) == (2, 1)


def test_the_summary_has_no_test_figure_without_test_calls(admin_client):
    campaign = Campaign.objects.create(campaign_id="c78af")
    Call.objects.create(campaign=campaign, phone_number="0771122330", created_at=timezone.now())
    summary = admin_client.get(
        reverse("admin:django_voiceotp_campaign_summary", args=[campaign.pk])
    )
    assert "test calls" not in summary.content.decode()


# -- the system checks ---------------------------------------------------------------------------


def test_with_debug_on_a_check_lists_the_test_numbers_at_info_level_without_their_codes(
    voiceotp, settings
):
    settings.DEBUG = True
    voiceotp(TEST_NUMBERS={TEST_NUMBER: FIXED_CODE, "0770000002": "135790"})
    (message,) = check_test_numbers()
    assert message.id == "django_voiceotp.I003" and message.level == checks.INFO
    assert "0770000001" in message.msg and "0770000002" in message.msg
    assert FIXED_CODE not in str(message) and "135790" not in str(message)


def test_with_debug_off_test_numbers_are_a_warning_that_suggests_unassigned_numbers(
    voiceotp, settings
):
    settings.DEBUG = False
    voiceotp(TEST_NUMBERS={TEST_NUMBER: FIXED_CODE})
    (message,) = check_test_numbers()
    assert message.id == "django_voiceotp.W013" and message.level == checks.WARNING
    assert "0770000001" in message.msg and FIXED_CODE not in str(message)
    assert "+84 71 000 0001" in message.hint and "not reserved" in message.hint


@pytest.mark.parametrize(
    "code, weakness",
    [
        ("1234", "consecutive"),
        ("000000", "one repeated digit"),
        ("9999", "one repeated digit"),
        ("123456", "consecutive"),
        ("876543", "consecutive"),
        ("01234567", "consecutive"),
        ("7305", "fewer than 6 digits"),
        ("24681", "fewer than 6 digits"),
    ],
)
def test_a_check_warns_of_a_test_code_easy_to_guess_without_showing_it(voiceotp, code, weakness):
    voiceotp(TEST_NUMBERS={TEST_NUMBER: code})
    warnings = [message for message in check_test_numbers() if message.id == "django_voiceotp.W014"]
    assert len(warnings) == 1 and warnings[0].level == checks.WARNING
    assert weakness in warnings[0].msg
    assert code not in str(warnings[0])


@pytest.mark.parametrize("code", [FIXED_CODE, "135790", "902417", "12345780"])
def test_a_random_looking_test_code_draws_no_warning(voiceotp, code):
    voiceotp(TEST_NUMBERS={TEST_NUMBER: code})
    assert "django_voiceotp.W014" not in [message.id for message in check_test_numbers()]


def test_a_check_warns_of_a_test_number_that_cannot_be_called(voiceotp):
    voiceotp(TEST_NUMBERS={"12345": FIXED_CODE, "+1 212 555 0100": "135790"})
    messages = check_test_numbers()
    assert [(message.id, message.level) for message in messages] == [
        ("django_voiceotp.W012", checks.WARNING),
        ("django_voiceotp.W012", checks.WARNING),
    ]
    assert "'12345'" in messages[0].msg and "'+1 212 555 0100'" in messages[1].msg


def test_a_check_refuses_malformed_entries_without_showing_the_code(voiceotp):
    voiceotp(TEST_NUMBERS={TEST_NUMBER: "12ab56"})
    messages = check_test_numbers()
    assert [message.id for message in messages] == [
        "django_voiceotp.E011",
        "django_voiceotp.W013",
    ]
    assert "12ab56" not in str(messages[0])
    voiceotp(TEST_NUMBERS=[TEST_NUMBER])
    assert [message.id for message in check_test_numbers()] == ["django_voiceotp.E011"]


def test_an_entry_with_a_malformed_code_is_not_a_test_number(api, voiceotp, enqueued):
    voiceotp(TEST_NUMBERS={TEST_NUMBER: "12ab56"})
    assert ask(api, TEST_NUMBER).status_code == 201
    assert not Verification.objects.get().is_test and not Call.objects.get().is_test


def test_no_test_numbers_no_message(voiceotp):
    voiceotp(TEST_NUMBERS={})
    assert check_test_numbers() == []


# -- the gate decides --------------------------------------------------------------------------

#: Outside the ranges assigned to operators (phonenumbers: possible, not valid): nobody's line.
UNASSIGNED = "+84 71 000 0001"


def test_the_gate_marks_a_test_number_with_its_fixed_code_and_shows_it_nowhere():
    number = limits.allowed_number("077 000 0001")
    assert number == "0770000001" and number.is_test and number.fixed_code == FIXED_CODE
    assert FIXED_CODE not in repr(number) and FIXED_CODE not in str(number)
    with limits.admit(number) as admitted:
        assert admitted.fixed_code == FIXED_CODE
    other = limits.allowed_number("0771122330")
    assert not other.is_test and other.fixed_code is None


def test_a_number_outside_the_assigned_ranges_is_refused_unless_it_is_a_test_number(voiceotp):
    with pytest.raises(InvalidPhoneNumber):
        limits.allowed_number(UNASSIGNED)
    voiceotp(TEST_NUMBERS={UNASSIGNED: FIXED_CODE})
    number = limits.allowed_number(UNASSIGNED)
    assert number == "0710000001" and number.fixed_code == FIXED_CODE
    assert "django_voiceotp.W012" not in [message.id for message in check_test_numbers()]


def test_the_country_rule_holds_for_a_test_number_outside_the_assigned_ranges(voiceotp):
    voiceotp(TEST_NUMBERS={UNASSIGNED: FIXED_CODE}, ALLOWED_COUNTRY_CODES=(1,))
    with pytest.raises(PhoneNumberNotAllowed):
        limits.allowed_number(UNASSIGNED)
    voiceotp(ALLOWED_COUNTRY_CODES=(84,), DENIED_PREFIXES=("+8471",))
    with pytest.raises(PhoneNumberNotAllowed):
        limits.allowed_number(UNASSIGNED)


def test_over_http_a_test_number_outside_the_assigned_ranges_verifies(api, voiceotp, enqueued):
    voiceotp(TEST_NUMBERS={UNASSIGNED: FIXED_CODE})
    response = ask(api, "0710000001")
    assert response.status_code == 201 and enqueued == []
    assert Call.objects.get().is_test
    assert check(api, response.json()["id"], FIXED_CODE).status_code == 200


def test_request_code_and_check_code_take_a_test_number_outside_the_assigned_ranges(voiceotp):
    voiceotp(TEST_NUMBERS={UNASSIGNED: FIXED_CODE})
    verification = verification_module.request_code("+84710000001")
    assert verification.is_test
    assert verification_module.check_code(UNASSIGNED, FIXED_CODE) is CheckResult.VERIFIED


# -- wrong guesses at a fixed code ---------------------------------------------------------------


def guess_wrong_across_codes(voiceotp, codes: int, wrong_per_code: int) -> None:
    voiceotp(RESEND_COOLDOWN=0, SENDS_PER_NUMBER_PER_HOUR=None, SENDS_PER_NUMBER_PER_DAY=None)
    for _ in range(codes):
        verification_module.request_code(TEST_NUMBER)
        for _ in range(wrong_per_code):
            verification_module.check_code(TEST_NUMBER, "135790")


def test_wrong_guesses_at_a_test_number_count_across_codes_and_lock_it_for_the_day(
    voiceotp, clock, enqueued
):
    # The default budget (20): four wrong tries of each of five codes, each under MAX_ATTEMPTS.
    guess_wrong_across_codes(voiceotp, codes=5, wrong_per_code=4)
    verification_module.request_code(TEST_NUMBER)
    # Locked: even the right code is refused, so a guesser learns nothing more today.
    assert verification_module.check_code(TEST_NUMBER, FIXED_CODE) is CheckResult.LOCKED
    assert Verification.objects.order_by("-created_at").first().state == "locked"

    clock.move_to("2026-03-03 00:00:01+00:00", tick=False)  # the next UTC day
    verification_module.request_code(TEST_NUMBER)
    assert verification_module.check_code(TEST_NUMBER, FIXED_CODE) is CheckResult.VERIFIED


def test_the_guess_that_spends_the_budget_locks_the_code_at_once(voiceotp, clock, enqueued, caplog):
    voiceotp(TEST_GUESSES_PER_DAY=3)
    guess_wrong_across_codes(voiceotp, codes=1, wrong_per_code=2)
    with caplog.at_level(logging.WARNING, logger="django_voiceotp"):
        assert verification_module.check_code(TEST_NUMBER, "135790") is CheckResult.LOCKED
    assert "locked until the end of the UTC day" in caplog.text
    assert FIXED_CODE not in caplog.text and "0770000001" not in caplog.text
    verification_module.request_code(TEST_NUMBER)
    assert verification_module.check_code(TEST_NUMBER, FIXED_CODE) is CheckResult.LOCKED


def test_other_numbers_and_a_budget_of_0_are_not_counted(voiceotp, clock, enqueued):
    voiceotp(TEST_GUESSES_PER_DAY=0)
    guess_wrong_across_codes(voiceotp, codes=5, wrong_per_code=4)
    verification_module.request_code(TEST_NUMBER)
    assert verification_module.check_code(TEST_NUMBER, FIXED_CODE) is CheckResult.VERIFIED

    voiceotp(TEST_GUESSES_PER_DAY=1)
    verification_module.request_code("0771122330")
    verification_module.check_code("0771122330", "000000")
    code = "482915"
    verification = Verification.objects.order_by("-created_at").first()
    verification.code_hash = verification_module.hash_code(code, context=str(verification.pk))
    verification.save()
    assert verification_module.check_code("0771122330", code) is CheckResult.VERIFIED


def test_the_guess_counter_holds_no_phone_number(voiceotp, clock, enqueued):
    voiceotp(TEST_GUESSES_PER_DAY=3)
    guess_wrong_across_codes(voiceotp, codes=1, wrong_per_code=1)
    keys = [key for key in cache._cache if "test_guesses" in key]  # LocMemCache's own store
    assert len(keys) == 1
    assert "0770000001" not in keys[0] and "770000001" not in keys[0]


@pytest.mark.parametrize("suggested", SUGGESTED_TEST_NUMBERS)
def test_the_suggested_test_numbers_are_outside_the_assigned_ranges_and_usable(voiceotp, suggested):
    parsed = phonenumbers.parse(suggested)
    assert phonenumbers.is_possible_number(parsed) and not phonenumbers.is_valid_number(parsed)
    voiceotp(TEST_NUMBERS={suggested: FIXED_CODE})
    assert limits.allowed_number(suggested).fixed_code == FIXED_CODE
    assert "django_voiceotp.W012" not in [message.id for message in check_test_numbers()]


def test_a_code_asked_for_while_the_number_was_a_test_number_is_checked_without_error(
    api, voiceotp, enqueued
):
    voiceotp(TEST_NUMBERS={UNASSIGNED: FIXED_CODE})
    verification_id = ask(api, UNASSIGNED).json()["id"]
    voiceotp(TEST_NUMBERS={})  # removed after the review, with its code still pending
    assert verification_module.check_code(UNASSIGNED, "000000") is CheckResult.WRONG_CODE
    # The code asked for lives out its CODE_TTL, as any code: found, checked, no server error.
    assert check(api, verification_id, FIXED_CODE).status_code == 200
    with pytest.raises(InvalidPhoneNumber):
        verification_module.check_code("12345", FIXED_CODE)
