"""Verification under real concurrency: PostgreSQL transactions and the Redis cache, from threads.

Each test races many threads, each on its own database connection, through a barrier, so the
guarded updates of ``check_code`` and the atomic cache operations of the limits meet for real.
"""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.utils import timezone

from django_voiceotp import limits, request_code
from django_voiceotp import verification as verification_module
from django_voiceotp.exceptions import RateLimited
from django_voiceotp.models import Verification
from django_voiceotp.signals import code_locked
from django_voiceotp.verification import CheckResult, check_code, hash_code

from ..concurrency import race

pytestmark = pytest.mark.django_db(transaction=True)

PHONE = "0771122330"
CODE = "048291"
THREADS = 16


def pending_verification(code: str = CODE) -> Verification:
    verification = Verification(
        phone_number=PHONE, expires_at=timezone.now() + timedelta(seconds=300)
    )
    verification.code_hash = hash_code(code, context=str(verification.pk))
    verification.save(force_insert=True)
    return verification


@pytest.mark.parametrize("in_transaction", [False, True], ids=["autocommit", "atomic"])
def test_checks_at_once_never_both_succeed(in_transaction):
    assert connection.vendor == "postgresql"
    for _round in range(5):
        Verification.objects.all().delete()
        verification = pending_verification()

        def check(_index, pk=verification.pk):
            if in_transaction:
                # As under ATOMIC_REQUESTS: the row stays locked until the request commits.
                with transaction.atomic():
                    return check_code(PHONE, CODE, verification=pk)
            return check_code(PHONE, CODE, verification=pk)

        results = Counter(race(check, count=THREADS))
        assert results == {CheckResult.VERIFIED: 1, CheckResult.USED: THREADS - 1}
        verification.refresh_from_db()
        assert verification.state == Verification.State.VERIFIED
        assert verification.attempts == 0


def test_wrong_tries_at_once_never_exceed_the_cap(voiceotp):
    voiceotp(MAX_ATTEMPTS=5)
    locked = []
    receiver = lambda verification, **kwargs: locked.append(verification.pk)  # noqa: E731
    code_locked.connect(receiver, weak=False, dispatch_uid="concurrency-locked")
    try:
        verification = pending_verification()
        results = Counter(
            race(
                lambda index: check_code(PHONE, f"{index:06d}", verification=verification.pk),
                count=THREADS,
            )
        )
    finally:
        code_locked.disconnect(dispatch_uid="concurrency-locked")
    verification.refresh_from_db()
    assert verification.attempts == 5
    assert verification.state == Verification.State.LOCKED
    assert results == {CheckResult.WRONG_CODE: 5, CheckResult.LOCKED: THREADS - 5}
    assert locked == [verification.pk]  # once, however many tries saw the cap


def test_the_right_code_among_wrong_ones_at_the_cap(voiceotp):
    """With one try left, a right and many wrong codes race: the cap still holds, and the code
    is verified only if its check came before the last wrong try."""
    voiceotp(MAX_ATTEMPTS=3)
    for _round in range(5):
        Verification.objects.all().delete()
        verification = pending_verification()
        Verification.objects.filter(pk=verification.pk).update(attempts=2)

        def check(index, pk=verification.pk):
            code = CODE if index == 0 else "999999"
            return check_code(PHONE, code, verification=pk)

        results = race(check, count=8)
        verification.refresh_from_db()
        assert verification.attempts <= 3
        if results[0] is CheckResult.VERIFIED:
            assert verification.state == Verification.State.VERIFIED
            assert verification.attempts == 2
        else:
            assert results[0] is CheckResult.LOCKED
            assert verification.state == Verification.State.LOCKED
            assert verification.attempts == 3
        assert CheckResult.VERIFIED not in results[1:]


def test_requests_at_once_send_one_code(monkeypatch, enqueued):
    """On Redis: of many requests for one number at once, the cooldown lets exactly one through."""
    monkeypatch.setattr(verification_module, "generate_code", lambda length=None: CODE)

    def request(_index):
        try:
            return request_code(PHONE, client_ip="203.0.113.7").pk
        except RateLimited as err:
            return err.limit

    results = Counter(
        isinstance(result, str) and result or "sent" for result in race(request, count=THREADS)
    )
    assert results == {"sent": 1, "cooldown": THREADS - 1}
    assert Verification.objects.count() == 1 and len(enqueued) == 1


def test_counters_at_once_never_exceed_their_limit(voiceotp, clock):
    voiceotp(RESEND_COOLDOWN=0, SENDS_PER_IP_PER_HOUR=6)

    def send(index):
        try:
            with limits.consume_send(f"09012345{index:02d}", "203.0.113.7"):
                return "sent"
        except RateLimited:
            return "refused"

    assert Counter(race(send, count=24)) == {"sent": 6, "refused": 18}
