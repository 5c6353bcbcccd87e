"""Test numbers on PostgreSQL and Redis: wrong guesses at a fixed code, counted from threads."""

from __future__ import annotations

from collections import Counter

import pytest
from django.db import connection

from django_voiceotp import request_code
from django_voiceotp.models import Call, Verification
from django_voiceotp.verification import CheckResult, check_code

from ..concurrency import race

pytestmark = pytest.mark.django_db(transaction=True)

TEST_NUMBER = "0770000001"
FIXED_CODE = "246810"
CODES = 4
THREADS = 24


def test_wrong_guesses_from_threads_across_codes_lock_the_test_number(voiceotp):
    assert connection.vendor == "postgresql"
    voiceotp(
        TEST_NUMBERS={TEST_NUMBER: FIXED_CODE},
        TEST_GUESSES_PER_DAY=10,
        MAX_ATTEMPTS=5,
        RESEND_COOLDOWN=0,
        SENDS_PER_NUMBER_PER_HOUR=None,
        SENDS_PER_NUMBER_PER_DAY=None,
    )
    # Codes asked for one after another, as by several testers; each stays checkable by its id.
    verifications = [request_code(TEST_NUMBER) for _ in range(CODES)]
    Verification.objects.update(state=Verification.State.PENDING)  # none superseded
    assert Call.objects.filter(is_test=True).count() == CODES

    def guess(index):
        return check_code(TEST_NUMBER, "135790", verification=verifications[index % CODES].pk)

    results = Counter(race(guess, count=THREADS))
    # The counter is one atomic incr in Redis: the guesses counted 1 to 9 are wrong, the 10th
    # locks, and every later one finds the number locked, though each code's MAX_ATTEMPTS would
    # have allowed 20 wrong guesses in all.
    assert results == {CheckResult.WRONG_CODE: 9, CheckResult.LOCKED: THREADS - 9}
    for verification in verifications:
        assert check_code(TEST_NUMBER, FIXED_CODE, verification=verification.pk) is (
            CheckResult.LOCKED
        )
    assert not Verification.objects.filter(state="verified").exists()
