"""request_code / verify_code: hashing, single use, expiry, attempts, signals, no code leaked."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.utils import timezone
from hypothesis import given, settings
from hypothesis import strategies as st

from django_voiceotp import request_code, verify_code
from django_voiceotp import verification as verification_module
from django_voiceotp.exceptions import InvalidOTP, InvalidPhoneNumber, RateLimited
from django_voiceotp.models import Call, Verification
from django_voiceotp.sealing import open_otp
from django_voiceotp.signals import code_failed, code_locked, code_requested, code_verified
from django_voiceotp.verification import CheckResult, check_code, code_matches, hash_code

from .concurrency import race

PHONE = "0771122330"


@pytest.fixture
def code_signals():
    """Records the verification signals as (name, verification id, reason) tuples."""
    events = []
    names = {
        code_requested: "requested",
        code_verified: "verified",
        code_failed: "failed",
        code_locked: "locked",
    }

    def record(signal, sender, verification, **kwargs):
        assert sender is Verification
        events.append((names[signal], verification.pk, kwargs.get("reason")))

    for signal in names:
        signal.connect(record, weak=False, dispatch_uid=f"code-recorder-{id(signal)}")
    yield events
    for signal in names:
        signal.disconnect(dispatch_uid=f"code-recorder-{id(signal)}")


@pytest.fixture
def known_code(monkeypatch):
    """Make request_code send a code the test knows, e.g. one with leading zeros."""

    def use(code: str) -> None:
        monkeypatch.setattr(verification_module, "generate_code", lambda length=None: code)

    return use


# -- the round trip over the sandbox -------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_code_is_called_and_verifies_once(sandbox, code_signals):
    verification = request_code("+84 77 112 2330", client_ip="203.0.113.7")

    [simulated] = sandbox.calls
    code = simulated.otp
    assert len(code) == 6 and code.isdigit()
    assert simulated.phone_number == PHONE
    verification.refresh_from_db()
    assert verification.call.status == Call.Status.SENT
    assert verification.call.otp != code  # sealed (erased when the delivery ends)
    assert verification.state == Verification.State.PENDING
    assert verification.client_ip == "203.0.113.7"
    assert verification.expires_at == verification.created_at + timedelta(seconds=300)

    assert verify_code(PHONE, code) is True
    assert verify_code(PHONE, code) is False  # single use
    assert check_code(PHONE, code) is CheckResult.USED
    verification.refresh_from_db()
    assert verification.state == Verification.State.VERIFIED
    assert verification.verified_at is not None
    assert [name for name, _, _ in code_signals] == ["requested", "verified", "failed", "failed"]
    assert code_signals[2][2] is CheckResult.USED


@pytest.mark.django_db(transaction=True)
def test_the_code_is_never_stored_logged_or_shown(sandbox, caplog):
    caplog.set_level(logging.DEBUG)
    verification = request_code(PHONE)
    code = sandbox.calls[0].otp
    assert verify_code(PHONE, "000000" if code != "000000" else "111111") is False
    assert verify_code(PHONE, code) is True

    verification.refresh_from_db()
    stored = [str(getattr(verification, field.attname)) for field in Verification._meta.fields]
    assert not any(code in value for value in stored)
    assert verification.code_hash != code and len(verification.code_hash) == 64
    assert code not in repr(verification) and code not in str(verification)
    with connection.cursor() as cursor:
        cursor.execute("SELECT otp FROM django_voiceotp_call")
        # Sealed, not in clear: a redial or the fallback may still need it.
        assert [(row[0] != "", code in row[0]) for row in cursor.fetchall()] == [(True, False)]
    assert code not in caplog.text
    assert "Verification" in caplog.text  # the flow was logged, just not the code


@pytest.mark.django_db(transaction=True)
def test_nothing_sent_from_a_rolled_back_transaction(sandbox, code_signals):
    with pytest.raises(RuntimeError), transaction.atomic():
        request_code(PHONE)
        raise RuntimeError("the sign-up failed")
    assert Verification.objects.count() == 0
    assert sandbox.requests_for("voiceotp") == []
    assert code_signals == []


@pytest.mark.django_db(transaction=True)
def test_checks_at_once_verify_once(sandbox, known_code):
    # SQLite serialises writers; the PostgreSQL version is in tests/production.
    known_code("482915")
    request_code(PHONE)
    results = race(lambda _index: check_code(PHONE, "482915"), count=6)
    assert sorted(result.value for result in results) == ["used"] * 5 + ["verified"]


# -- checking, without a call (on_commit does not run in these tests) ----------------------------


@pytest.mark.django_db
def test_leading_zeros_are_digits(known_code):
    known_code("000123")
    request_code(PHONE)
    assert verify_code(PHONE, "123") is False
    assert verify_code(PHONE, "0123") is False
    assert verify_code(PHONE, " 000123 ") is True  # surrounding spaces are forgiven


@pytest.mark.django_db
@pytest.mark.parametrize("typed", ["482 915", "482-915", "4 8 2 9 1 5", " 48-29 15 "])
def test_a_code_typed_in_groups_verifies(known_code, typed):
    """The code is read out (and the demo's phone shows it) in groups: spaces and dashes between
    digits are not part of it."""
    known_code("482915")
    request_code(PHONE)
    assert check_code(PHONE, typed) is CheckResult.VERIFIED


@pytest.mark.django_db
def test_separators_do_not_make_a_wrong_code_right(known_code):
    known_code("482915")
    verification = request_code(PHONE)
    assert check_code(PHONE, "482 916") is CheckResult.WRONG_CODE
    assert check_code(PHONE, "4829-1") is CheckResult.WRONG_CODE
    verification.refresh_from_db()
    assert verification.attempts == 2


@pytest.mark.django_db
def test_wrong_tries_lock_the_code(
    known_code, voiceotp, code_signals, django_capture_on_commit_callbacks
):
    voiceotp(MAX_ATTEMPTS=3)
    known_code("482915")
    verification = request_code(PHONE)
    with django_capture_on_commit_callbacks(execute=True):
        results = [check_code(PHONE, wrong) for wrong in ("111111", "222222", "333333")]
        after = [check_code(PHONE, "482915"), check_code(PHONE, "444444")]
    assert results == [CheckResult.WRONG_CODE] * 3
    assert after == [CheckResult.LOCKED, CheckResult.LOCKED]
    verification.refresh_from_db()
    assert verification.state == Verification.State.LOCKED
    assert verification.attempts == 3  # tries after the lock are not counted
    assert [name for name, _, _ in code_signals].count("locked") == 1
    assert [reason for name, _, reason in code_signals if name == "failed"] == results + after


@pytest.mark.django_db
def test_a_right_code_after_wrong_ones_still_verifies(known_code):
    known_code("482915")
    request_code(PHONE)
    assert check_code(PHONE, "111111") is CheckResult.WRONG_CODE
    assert check_code(PHONE, "12ab") is CheckResult.WRONG_CODE
    assert check_code(PHONE, "482915") is CheckResult.VERIFIED


@pytest.mark.django_db
def test_codes_expire(known_code, time_machine):
    time_machine.move_to(timezone.now(), tick=False)
    known_code("482915")
    verification = request_code(PHONE)
    time_machine.shift(timedelta(seconds=299))
    assert check_code(PHONE, "111111") is CheckResult.WRONG_CODE
    time_machine.shift(timedelta(seconds=1))
    assert check_code(PHONE, "482915") is CheckResult.EXPIRED
    assert check_code(PHONE, "111111") is CheckResult.EXPIRED
    verification.refresh_from_db()
    assert verification.attempts == 1  # checks of an expired code count nothing
    assert verification.is_expired


@pytest.mark.django_db
def test_code_ttl_is_a_setting(known_code, voiceotp, time_machine):
    time_machine.move_to(timezone.now(), tick=False)
    voiceotp(CODE_TTL=30)
    known_code("482915")
    request_code(PHONE)
    time_machine.shift(timedelta(seconds=31))
    assert check_code(PHONE, "482915") is CheckResult.EXPIRED


@pytest.mark.django_db
def test_a_new_code_supersedes_the_old(known_code, voiceotp):
    voiceotp(RESEND_COOLDOWN=0)
    known_code("111111")
    first = request_code(PHONE)
    known_code("222222")
    second = request_code(PHONE)
    assert check_code(PHONE, "111111", verification=first) is CheckResult.SUPERSEDED
    assert check_code(PHONE, "111111") is CheckResult.WRONG_CODE  # the latest code is checked
    assert verify_code(PHONE, "222222") is True
    first.refresh_from_db()
    assert first.state == Verification.State.SUPERSEDED
    assert second.pk != first.pk


VICTIM = "203.0.113.7"
STRANGER = "198.51.100.23"


@pytest.mark.django_db
def test_another_client_cannot_cancel_a_pending_code(known_code, clock):
    """F12: a request 61 s after the victim's, from another address, made the victim's code
    SUPERSEDED. Now it waits for the victim's code to be used or to expire; nothing is called."""
    known_code("111111")
    victim = request_code(PHONE, client_ip=VICTIM)
    clock.shift(timedelta(seconds=61))  # past RESEND_COOLDOWN
    known_code("222222")
    with pytest.raises(RateLimited) as refused:
        request_code(PHONE, client_ip=STRANGER)
    assert refused.value.limit == "pending_code"
    assert refused.value.retry_after == 300 - 61  # until the victim's code expires
    assert Verification.objects.count() == Call.objects.count() == 1
    assert verify_code(PHONE, "111111") is True
    victim.refresh_from_db()
    assert victim.state == Verification.State.VERIFIED


@pytest.mark.django_db
def test_a_refused_request_uses_none_of_the_quota(known_code, voiceotp, clock):
    voiceotp(SENDS_PER_IP_PER_HOUR=1)
    request_code(PHONE, client_ip=VICTIM)
    clock.shift(timedelta(seconds=61))
    with pytest.raises(RateLimited):
        request_code(PHONE, client_ip=STRANGER)
    request_code("0901234567", client_ip=STRANGER)  # the stranger's one send of the hour is there


@pytest.mark.django_db
def test_another_client_may_ask_once_the_code_expired_or_was_used(known_code, clock):
    known_code("111111")
    request_code(PHONE, client_ip=VICTIM)
    clock.shift(timedelta(seconds=301))
    first_stranger = request_code(PHONE, client_ip=STRANGER)  # the victim's code expired
    assert verify_code(PHONE, "111111", verification=first_stranger) is True
    clock.shift(timedelta(seconds=61))
    assert request_code(PHONE, client_ip=VICTIM)  # the stranger's code was used


@pytest.mark.django_db
def test_the_same_client_asking_again_replaces_its_code(known_code, clock):
    known_code("111111")
    first = request_code(PHONE, client_ip=VICTIM)
    clock.shift(timedelta(seconds=61))
    known_code("222222")
    request_code(PHONE, client_ip=VICTIM)
    assert check_code(PHONE, "111111", verification=first) is CheckResult.SUPERSEDED
    assert verify_code(PHONE, "222222") is True


@pytest.mark.django_db
def test_an_ipv6_client_is_one_client_across_its_64(known_code, clock):
    """Privacy addresses change within a subscriber's /64: the resend is the same client's."""
    known_code("111111")
    first = request_code(PHONE, client_ip="2001:db8:1:2::10")
    clock.shift(timedelta(seconds=61))
    request_code(PHONE, client_ip="2001:db8:1:2:a:b:c:d")
    assert check_code(PHONE, "111111", verification=first) is CheckResult.SUPERSEDED
    clock.shift(timedelta(seconds=61))
    with pytest.raises(RateLimited):
        request_code(PHONE, client_ip="2001:db8:1:3::10")  # another /64


@pytest.mark.django_db
def test_the_owner_replaces_a_strangers_pending_code(known_code, clock):
    known_code("111111")
    stranger = request_code(PHONE, client_ip=STRANGER)
    clock.shift(timedelta(seconds=61))
    known_code("222222")
    request_code(PHONE, client_ip=VICTIM, owner=True)
    assert check_code(PHONE, "111111", verification=stranger) is CheckResult.SUPERSEDED
    assert verify_code(PHONE, "222222") is True


@pytest.mark.django_db
def test_testers_of_a_test_number_replace_each_others_codes(voiceotp, clock):
    """A test number calls nobody and its testers (QA, app-store review) share it: a tester
    elsewhere does not wait for another's code."""
    voiceotp(TEST_NUMBERS={PHONE: "135790"})
    first = request_code(PHONE, client_ip=VICTIM)
    clock.shift(timedelta(seconds=61))
    request_code(PHONE, client_ip=STRANGER)
    assert check_code(PHONE, "135790", verification=first) is CheckResult.SUPERSEDED
    assert verify_code(PHONE, "135790") is True


@pytest.mark.django_db
def test_callers_without_an_address_are_one_client(known_code, clock):
    known_code("111111")
    first = request_code(PHONE)
    clock.shift(timedelta(seconds=61))
    request_code(PHONE, client_ip="unknown")
    assert check_code(PHONE, "111111", verification=first) is CheckResult.SUPERSEDED
    clock.shift(timedelta(seconds=61))
    with pytest.raises(RateLimited):
        request_code(PHONE, client_ip=VICTIM)


@pytest.mark.django_db
def test_checking_a_given_verification(known_code):
    known_code("482915")
    verification = request_code(PHONE)
    other_number = "0901234567"
    assert check_code(other_number, "482915", verification=verification) is CheckResult.NOT_FOUND
    assert check_code(PHONE, "482915", verification="not-a-uuid") is CheckResult.NOT_FOUND
    assert check_code("+84771122330", "482915", verification=str(verification.pk))
    assert check_code(PHONE, "482915", verification=verification.pk) is CheckResult.USED


@pytest.mark.django_db
def test_unknown_numbers_and_bad_input():
    assert check_code(PHONE, "482915") is CheckResult.NOT_FOUND
    assert verify_code(PHONE, "482915") is False
    with pytest.raises(InvalidOTP):
        verify_code(PHONE, 482915)
    with pytest.raises(InvalidPhoneNumber):
        verify_code("12345", "482915")
    with pytest.raises(InvalidPhoneNumber):
        request_code("12345")
    with pytest.raises(ValueError):
        request_code(PHONE, client_ip="not an address")
    assert Verification.objects.count() == 0


@pytest.mark.django_db
def test_code_length_is_a_setting(voiceotp):
    voiceotp(CODE_LENGTH=8)
    verification = request_code(PHONE)
    assert len(open_otp(verification.call.otp)) == 8  # sealed on the call while it is needed


@pytest.mark.django_db
def test_codes_hashed_under_a_rotated_key_still_verify(known_code, settings):
    known_code("482915")
    settings.SECRET_KEY = "the-old-key"
    request_code(PHONE)
    settings.SECRET_KEY = "the-new-key"
    assert check_code(PHONE, "482915") is CheckResult.WRONG_CODE
    settings.SECRET_KEY_FALLBACKS = ["the-old-key"]
    assert check_code(PHONE, "482915") is CheckResult.VERIFIED


# -- properties ----------------------------------------------------------------------------------


@given(length=st.integers(min_value=4, max_value=8))
def test_generated_codes_are_strings_of_digits(length):
    code = verification_module.generate_code(length)
    assert isinstance(code, str)
    assert len(code) == length
    assert code.isascii() and code.isdigit()


def test_generated_codes_use_every_digit_in_every_place():
    codes = [verification_module.generate_code(6) for _ in range(2000)]
    for place in range(6):
        assert {code[place] for code in codes} == set("0123456789")
    assert any(code.startswith("0") for code in codes)


codes = st.text(alphabet="0123456789", min_size=4, max_size=8)


@given(code=codes, other=codes, context=st.uuids().map(str))
@settings(max_examples=200)
def test_a_hash_matches_its_code_only(code, other, context):
    code_hash = hash_code(code, context=context)
    assert code_matches(code, code_hash, context=context)
    assert code_matches(other, code_hash, context=context) == (other == code)
    # A SHA-256 HMAC, not the code: short digit runs may occur in any hex string by chance.
    assert len(code_hash) == 64 and code_hash != code


@given(code=codes, context=st.uuids().map(str), elsewhere=st.uuids().map(str))
def test_a_hash_is_bound_to_its_verification(code, context, elsewhere):
    if context != elsewhere:
        assert not code_matches(code, hash_code(code, context=context), context=elsewhere)


def test_comparison_is_constant_time(monkeypatch):
    compared = []
    real = verification_module.hmac.compare_digest

    def spy(a, b):
        compared.append((a, b))
        return real(a, b)

    monkeypatch.setattr(verification_module.hmac, "compare_digest", spy)
    code_hash = hash_code("482915", context="x")
    assert code_matches("482915", code_hash, context="x")
    assert compared and all(b == code_hash for _, b in compared)
