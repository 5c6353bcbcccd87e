"""The abuse limits under real concurrency on PostgreSQL: Redis counts atomically; the database
cache, which cannot, is refused rather than trusted.

Each test races threads through a barrier, each on its own PostgreSQL connection, all calling
``request_code`` as concurrent web requests would.
"""

from __future__ import annotations

from collections import Counter

import pytest
from django.core.cache import caches
from django.core.management import call_command
from django.db import connection

from django_voiceotp import request_code
from django_voiceotp.checks import check_verification_settings
from django_voiceotp.exceptions import ImproperlyConfigured, RateLimited
from django_voiceotp.models import Call, Verification

from ..concurrency import race

pytestmark = pytest.mark.django_db(transaction=True)

ADDRESS = "203.0.113.7"
THREADS = 40


@pytest.fixture(autouse=True)
def _nothing_enqueued(dispatched):
    """The calls are stored, not placed: what is counted here is what would be placed."""


@pytest.fixture
def clean_limits():
    caches["default"].clear()
    yield
    caches["default"].clear()


def outcome(work):
    def run(index):
        try:
            work(index)
            return "placed"
        except RateLimited as err:
            return err.limit
        except ImproperlyConfigured:
            return "refused"

    return Counter(race(run, count=THREADS))


def test_requests_from_one_address_at_once_place_at_most_its_limit(voiceotp, clock, clean_limits):
    assert connection.vendor == "postgresql"
    voiceotp(RESEND_COOLDOWN=0, SENDS_PER_IP_PER_HOUR=20)
    results = outcome(lambda index: request_code(f"09012345{index:02d}", client_ip=ADDRESS))
    assert results == {"placed": 20, "ip_hour": THREADS - 20}
    assert Verification.objects.count() == Call.objects.count() == 20


def test_requests_for_one_number_at_once_place_at_most_its_limit(voiceotp, clock, clean_limits):
    # No share kept for the number's owner: these requests name no client, so they would all
    # be strangers, stopped at 30 - SENDS_RESERVED_FOR_OWNER_PER_DAY (tests/test_owner_share.py).
    voiceotp(
        RESEND_COOLDOWN=0,
        SENDS_PER_NUMBER_PER_HOUR=None,
        SENDS_PER_NUMBER_PER_DAY=30,
        SENDS_RESERVED_FOR_OWNER_PER_DAY=0,
    )
    results = outcome(lambda index: request_code("0771122330"))
    assert results == {"placed": 30, "number_day": THREADS - 30}
    assert Call.objects.count() == 30


def test_the_database_cache_is_refused_for_the_limits(settings, voiceotp, clock):
    """Its incr is a read then a write: on main, 40 such requests placed 40 calls against 20."""
    settings.CACHES = {
        **settings.CACHES,
        "limits": {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": "voiceotp_limits",
        },
    }
    call_command("createcachetable", "voiceotp_limits", verbosity=0)
    voiceotp(RESEND_COOLDOWN=0, SENDS_PER_IP_PER_HOUR=20, LIMITS_CACHE_ALIAS="limits")
    assert [message.id for message in check_verification_settings()] == ["django_voiceotp.E010"]
    results = outcome(lambda index: request_code(f"09012345{index:02d}", client_ip=ADDRESS))
    assert results == {"refused": THREADS}
    assert Verification.objects.count() == Call.objects.count() == 0
