"""Batched sends on PostgreSQL and real workers: concurrent batches share no call and wait for no
other, and a batch killed half-way loses nothing and doubles nothing."""

from __future__ import annotations

import os
import signal
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection, transaction
from django.utils import timezone

from django_voiceotp import claims, tasks
from django_voiceotp.models import Call, Campaign
from django_voiceotp.sealing import seal_otp

from .stack import THREADS, wait_for
from .test_faults import LEASE_WAIT, assert_delivered_once

pytestmark = pytest.mark.django_db(transaction=True)


def waiting_calls(count: int) -> list[int]:
    """Calls stored with no send job published: only a batch's claim takes them."""
    campaign, _ = Campaign.objects.get_or_create(campaign_id="c78af")
    calls = Call.objects.bulk_create(
        Call(campaign=campaign, phone_number=f"078{index:07d}", otp=seal_otp("482915"))
        for index in range(count)
    )
    return [call.pk for call in calls]


def claim(limit: int) -> list[int]:
    try:
        return [call.pk for call in claims.claim_waiting(None, limit, timezone.now())]
    finally:
        connection.close()


def test_batches_claimed_at_once_share_no_call(stack):
    ids = waiting_calls(60)
    start = threading.Barrier(6)

    def claim_together(_) -> list[int]:
        start.wait()
        return claim(10)

    with ThreadPoolExecutor(max_workers=6) as pool:
        batches = list(pool.map(claim_together, range(6)))
    claimed = Counter(pk for batch in batches for pk in batch)
    assert set(claimed.values()) == {1}  # no call in two batches
    assert sorted(claimed) == sorted(ids)
    assert [len(batch) for batch in batches] == [10] * 6
    assert set(Call.objects.filter(pk__in=ids).values_list("send_attempts", flat=True)) == {1}


def test_a_batch_skips_the_calls_another_holds_rather_than_waiting(stack):
    ids = waiting_calls(8)
    held = threading.Event()
    release = threading.Event()
    first: list[int] = []

    def hold_a_batch() -> None:
        try:
            with transaction.atomic():
                first.extend(call.pk for call in claims.claim_waiting(None, 3, timezone.now()))
                held.set()
                release.wait(30)
        finally:
            connection.close()

    holder = threading.Thread(target=hold_a_batch)
    holder.start()
    try:
        assert held.wait(30)
        with connection.cursor() as cursor:
            # A claim that waited for the held rows would fail here instead of hanging.
            cursor.execute("SET lock_timeout = '2s'")
        second = [call.pk for call in claims.claim_waiting(None, 10, timezone.now())]
    finally:
        release.set()
        holder.join()
    assert sorted(first + second) == sorted(ids)
    assert not set(first) & set(second)


@pytest.mark.parametrize("worker_pool", [THREADS], ids=str)
def test_a_batch_killed_half_way_places_each_call_once(stack, signal_counts):
    """Ten calls in a batch; three of the provider's answers are slow. The worker is killed once
    the provider has received every request: seven answers are back, none recorded (a batch
    records its answers together), three still on their way. Each call is placed once all the
    same: the provider's callbacks reach the calls it placed, and when the claims' lease lapses
    the sweeper's resend finds each report instead of calling again."""
    stack.sandbox.reset(call_duration=0.2)
    stack.sandbox.inject("slow", endpoint="voiceotp", times=3, seconds=1.8)
    call_ids = waiting_calls(10)
    tasks.send_call.delay(call_ids[0])  # one job: it claims the ten as one batch
    everything_asked = lambda: stack.sandbox.request_counts()["voiceotp"] < 10  # noqa: E731
    assert wait_for(everything_asked, 30, interval=0.01) is False
    assert Call.objects.filter(pk__in=call_ids, status="sent").count() == 0
    for pid in stack.worker_pool_pids():
        os.kill(pid, signal.SIGKILL)
    for index in range(len(stack.workers)):
        stack.restart_worker(index)

    assert stack.wait_until_final(call_ids, timeout=LEASE_WAIT) == []
    calls = assert_delivered_once(stack, signal_counts, call_ids)
    placed = Counter(call["phone_number"] for call in stack.sandbox.calls())
    assert placed == Counter(call.phone_number for call in calls)
    assert set(placed.values()) == {1}
