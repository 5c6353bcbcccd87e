"""Abuse limits: which numbers may be called, how often, from where, and the Retry-After of each."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.core.cache.backends.db import DatabaseCache

from django_voiceotp import limits, request_code
from django_voiceotp.exceptions import (
    ImproperlyConfigured,
    InvalidPhoneNumber,
    PhoneNumberNotAllowed,
    RateLimited,
)
from django_voiceotp.models import Call, Verification

PHONE = "0771122330"
pytestmark = pytest.mark.django_db


def refused(**kwargs) -> RateLimited:
    with pytest.raises(RateLimited) as info:
        request_code(kwargs.pop("phone", PHONE), **kwargs)
    return info.value


# -- the cooldown --------------------------------------------------------------------------------


def test_resend_cooldown(clock):
    request_code(PHONE)
    error = refused()
    assert (error.retry_after, error.limit) == (60, "cooldown")
    clock.shift(45)
    assert refused().retry_after == 15
    clock.shift(15)
    request_code(PHONE)
    assert Verification.objects.count() == Call.objects.count() == 2


def test_the_cooldown_is_per_number_whatever_the_spelling(clock):
    request_code("+84 77 112 2330")
    refused(phone="84771122330")
    request_code("0901234567")  # another number is not held back


@pytest.mark.django_db(transaction=True)
def test_a_refused_request_places_no_call(sandbox):
    request_code(PHONE)
    with pytest.raises(RateLimited):
        request_code(PHONE)
    assert len(sandbox.requests_for("voiceotp")) == 1
    assert Verification.objects.count() == Call.objects.count() == 1


# -- the counters --------------------------------------------------------------------------------


def test_sends_per_number_per_hour(clock, voiceotp):
    voiceotp(RESEND_COOLDOWN=0, SENDS_PER_NUMBER_PER_HOUR=3)
    for _ in range(3):
        request_code(PHONE)
    error = refused()
    assert (error.retry_after, error.limit) == (45 * 60, "number_hour")
    clock.shift(45 * 60)
    request_code(PHONE)


def test_sends_per_number_per_day(clock, voiceotp):
    voiceotp(
        RESEND_COOLDOWN=0,
        SENDS_PER_NUMBER_PER_HOUR=None,
        SENDS_PER_NUMBER_PER_DAY=4,
        SENDS_RESERVED_FOR_OWNER_PER_DAY=0,  # every send open to anyone (test_spend.py: the share)
    )
    for _ in range(4):
        request_code(PHONE)
    error = refused()
    assert (error.retry_after, error.limit) == ((13 * 60 + 45) * 60, "number_day")
    clock.shift(timedelta(hours=13, minutes=45))
    request_code(PHONE)


def test_sends_per_client_ip_per_hour(clock, voiceotp):
    voiceotp(RESEND_COOLDOWN=0, SENDS_PER_IP_PER_HOUR=2)
    request_code("0901234561", client_ip="203.0.113.7")
    request_code("0901234562", client_ip="203.0.113.7")
    error = refused(phone="0901234563", client_ip="203.0.113.7")
    assert (error.retry_after, error.limit) == (45 * 60, "ip_hour")
    request_code("0901234563", client_ip="203.0.113.8")  # another client
    request_code("0901234564")  # no client address: the IP limit does not apply


def test_ipv6_clients_are_counted_by_their_64(voiceotp):
    voiceotp(RESEND_COOLDOWN=0, SENDS_PER_IP_PER_HOUR=1)
    request_code("0901234561", client_ip="2001:db8:1:2::1")
    refused(phone="0901234562", client_ip="2001:db8:1:2:ffff::9")
    request_code("0901234563", client_ip="2001:db8:1:3::1")
    assert limits.ip_subject("::ffff:203.0.113.7") == "203.0.113.7"


def test_the_longest_wait_is_reported(clock, voiceotp):
    voiceotp(SENDS_PER_NUMBER_PER_HOUR=1)
    request_code(PHONE)
    error = refused()  # both the cooldown (60 s) and the hourly count (45 min) refuse
    assert (error.retry_after, error.limit) == (45 * 60, "number_hour")


def test_a_refused_request_uses_no_quota(clock, voiceotp):
    voiceotp(RESEND_COOLDOWN=0, SENDS_PER_NUMBER_PER_HOUR=2, SENDS_PER_IP_PER_HOUR=1)
    request_code("0901234561", client_ip="203.0.113.7")
    for _ in range(5):
        refused(client_ip="203.0.113.7")  # refused by the IP limit, not the number's
    request_code(PHONE)
    request_code(PHONE)  # the number still had both its sends
    refused()


def test_a_send_that_fails_gives_its_quota_back(voiceotp):
    voiceotp(CODE_LENGTH=9)  # longer than OTP_MAX_LENGTH: send_otp refuses it
    with pytest.raises(ValueError):
        request_code(PHONE)
    voiceotp(CODE_LENGTH=6)
    request_code(PHONE)  # no cooldown was left behind


def test_limits_set_to_zero_or_none_are_off(voiceotp):
    voiceotp(
        RESEND_COOLDOWN=0,
        SENDS_PER_NUMBER_PER_HOUR=0,
        SENDS_PER_NUMBER_PER_DAY=None,
        SENDS_PER_IP_PER_HOUR=0,
    )
    for _ in range(25):
        request_code(PHONE, client_ip="203.0.113.7")


def test_concurrent_requests_pass_the_cooldown_once():
    results = []
    barrier = threading.Barrier(8)

    def send():
        barrier.wait()
        try:
            with limits.consume_send(PHONE, "203.0.113.7"):
                results.append("sent")
        except RateLimited:
            results.append("refused")

    threads = [threading.Thread(target=send) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == ["refused"] * 7 + ["sent"]


def test_concurrent_requests_never_exceed_a_count(voiceotp):
    voiceotp(RESEND_COOLDOWN=0, SENDS_PER_IP_PER_HOUR=5)
    results = []
    barrier = threading.Barrier(20)

    def send(index):
        barrier.wait()
        try:
            with limits.consume_send(f"09012345{index:02d}", "203.0.113.7"):
                results.append("sent")
        except RateLimited:
            results.append("refused")

    threads = [threading.Thread(target=send, args=(index,)) for index in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results.count("sent") == 5


def test_retry_after_reads_without_counting(clock, voiceotp):
    voiceotp(SENDS_PER_IP_PER_HOUR=1)
    assert limits.retry_after(PHONE, "203.0.113.7") is None
    assert limits.retry_after(PHONE, "203.0.113.7") is None
    request_code(PHONE, client_ip="203.0.113.7")
    assert limits.retry_after(PHONE) == 60
    assert limits.retry_after(client_ip="203.0.113.7") == 45 * 60
    assert limits.retry_after("0901234567") is None


def test_limits_use_the_configured_cache(voiceotp, settings):
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
        "limits": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": "limits",
        },
    }
    voiceotp(LIMITS_CACHE_ALIAS="limits")
    from django.core.cache import caches

    request_code(PHONE)
    assert any(key.startswith(":1:voiceotp:limit:cooldown") for key in caches["limits"]._cache)
    caches["limits"].clear()
    request_code(PHONE)


# -- which numbers -------------------------------------------------------------------------------


def test_only_allowed_countries_are_called(voiceotp):
    with pytest.raises(PhoneNumberNotAllowed):
        request_code("+1 212 555 0100")
    assert issubclass(PhoneNumberNotAllowed, InvalidPhoneNumber)
    voiceotp(ALLOWED_COUNTRY_CODES=(84, 1))
    verification = request_code("+1 212 555 0100")
    assert verification.phone_number == "+12125550100"
    assert Verification.objects.count() == 1


def test_denied_prefixes_are_not_called(voiceotp):
    with pytest.raises(PhoneNumberNotAllowed):
        request_code("1900 1234")  # the default list: Vietnamese premium-rate numbers
    voiceotp(DENIED_PREFIXES=("+8477",))
    with pytest.raises(PhoneNumberNotAllowed):
        request_code(PHONE)
    request_code("0901234567")


def test_premium_rate_numbers_are_refused_even_unlisted(voiceotp):
    voiceotp(DENIED_PREFIXES=())
    with pytest.raises(PhoneNumberNotAllowed):
        request_code("1900 1234")
    assert Verification.objects.count() == 0


# -- the system check ----------------------------------------------------------------------------


def check_ids(settings, debug):
    from django_voiceotp.checks import check_verification_settings

    settings.DEBUG = debug
    return [(message.id, message.msg) for message in check_verification_settings()]


def test_an_unshared_cache_is_warned_about_when_debug_is_off(settings):
    assert [id_ for id_, _ in check_ids(settings, debug=False)] == ["django_voiceotp.W010"]
    assert check_ids(settings, debug=True) == []
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache"}}
    assert check_ids(settings, debug=False) == []


NON_ATOMIC = [
    ("django.core.cache.backends.db.DatabaseCache", "DatabaseCache"),
    ("django.core.cache.backends.filebased.FileBasedCache", "FileBasedCache"),
    ("django.core.cache.backends.dummy.DummyCache", "DummyCache"),
]


@pytest.mark.parametrize(("backend", "name"), NON_ATOMIC)
def test_caches_whose_counters_are_not_atomic_are_refused(settings, backend, name, tmp_path):
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
        "limits": {"BACKEND": backend, "LOCATION": str(tmp_path)},
    }
    settings.VOICEOTP = {**settings.VOICEOTP, "LIMITS_CACHE_ALIAS": "limits"}
    for debug in (False, True):
        [(id_, message)] = check_ids(settings, debug=debug)
        assert id_ == "django_voiceotp.E010"
        assert f"the 'limits' cache, a {name}" in message
    with pytest.raises(ImproperlyConfigured, match=f"LIMITS_CACHE_ALIAS.*a {name}.*not atomic"):
        request_code(PHONE)
    assert Verification.objects.count() == Call.objects.count() == 0


def test_a_subclass_of_a_refused_cache_is_refused(settings):
    settings.CACHES = {"default": {"BACKEND": "tests.test_limits.MyDatabaseCache", "LOCATION": "c"}}
    assert [id_ for id_, _ in check_ids(settings, debug=True)] == ["django_voiceotp.E010"]


class MyDatabaseCache(DatabaseCache):
    """A project's own flavour of the database cache: still a read then a write."""


@pytest.mark.parametrize("length", [4, 5])
def test_short_codes_are_warned_about(settings, voiceotp, length):
    voiceotp(CODE_LENGTH=length)
    assert [id_ for id_, _ in check_ids(settings, debug=True)] == ["django_voiceotp.W011"]
    voiceotp(CODE_LENGTH=6)
    assert check_ids(settings, debug=True) == []


def test_malformed_verification_settings_are_errors(settings, voiceotp):
    settings.DEBUG = True
    voiceotp(
        CODE_LENGTH=12,
        MAX_ATTEMPTS=0,
        SENDS_PER_IP_PER_HOUR="20",
        ALLOWED_COUNTRY_CODES="84",
        DENIED_PREFIXES=("841900",),
        LIMITS_CACHE_ALIAS="nowhere",
    )
    messages = check_ids(settings, debug=True)
    assert {id_ for id_, _ in messages} == {"django_voiceotp.E006"}
    named = " ".join(msg for _, msg in messages)
    for key in (
        "CODE_LENGTH",
        "MAX_ATTEMPTS",
        "SENDS_PER_IP_PER_HOUR",
        "ALLOWED_COUNTRY_CODES",
        "DENIED_PREFIXES",
        "LIMITS_CACHE_ALIAS",
    ):
        assert key in named
