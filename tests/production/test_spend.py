"""The site's budget under real concurrency on PostgreSQL, counted in Redis: requests from many
addresses at once place at most the budget, and reaching it is logged once.

Each test races threads through a barrier, each on its own PostgreSQL connection, all calling
``request_code`` as concurrent web requests from different clients would.
"""

from __future__ import annotations

import logging
from collections import Counter

import pytest
from django.core.cache import caches
from django.db import connection

from django_voiceotp import limits, request_code
from django_voiceotp.exceptions import RateLimited
from django_voiceotp.models import Call, Verification

from ..concurrency import race

pytestmark = pytest.mark.django_db(transaction=True)

THREADS = 40
BUDGET = 15


@pytest.fixture(autouse=True)
def _nothing_enqueued(dispatched):
    """The calls are stored, not placed: what is counted here is what would be placed."""


@pytest.fixture
def clean_limits():
    caches["default"].clear()
    yield
    caches["default"].clear()


def outcome(work) -> Counter:
    def run(index):
        try:
            work(index)
            return "placed"
        except RateLimited as err:
            return err.limit

    return Counter(race(run, count=THREADS))


def ask_from_its_own_address(index: int) -> None:
    """A code for a number of its own, from an address of its own: only the site's budget binds."""
    request_code(f"09012345{index:02d}", client_ip=f"198.51.100.{index + 1}")


def test_requests_from_many_addresses_at_once_place_at_most_the_site_budget(
    voiceotp, clock, clean_limits, caplog
):
    assert connection.vendor == "postgresql"
    voiceotp(SENDS_PER_HOUR=BUDGET)
    with caplog.at_level(logging.ERROR, logger="django_voiceotp"):
        results = outcome(ask_from_its_own_address)
    assert results == {"placed": BUDGET, "site_hour": THREADS - BUDGET}
    assert Verification.objects.count() == Call.objects.count() == BUDGET
    errors = [record for record in caplog.records if "site budget" in record.getMessage()]
    assert len(errors) == 1  # one per window, however many requests at once were refused
    assert [use.used for use in limits.site_budget() if use.name == "site_hour"] == [BUDGET]


def test_the_day_budget_holds_as_well(voiceotp, clock, clean_limits):
    voiceotp(SENDS_PER_DAY=BUDGET)
    results = outcome(ask_from_its_own_address)
    assert results == {"placed": BUDGET, "site_day": THREADS - BUDGET}
    assert Call.objects.count() == BUDGET


def test_a_pause_refuses_every_request_at_once(clock, clean_limits):
    limits.pause_sending()
    results = outcome(ask_from_its_own_address)
    assert results == {"paused": THREADS}
    assert Call.objects.count() == 0
