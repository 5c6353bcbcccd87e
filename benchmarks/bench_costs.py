"""What one operation costs in SQL, and what the sweeper costs on a large table."""

from __future__ import annotations

import time
import tracemalloc
import uuid
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from django_voiceotp import sweeping
from django_voiceotp.models import Call, Campaign
from tests.production.test_query_counts import app_queries, fill_table, measure

from .conftest import add_row

pytestmark = pytest.mark.django_db(transaction=True)

TABLE_SIZE = 100_000
DUE = 1_000


def test_queries_per_operation(stack, client):
    stack.sandbox.reset(call_duration=60)
    small = measure(stack, client)
    fill_table(20_000)
    large = measure(stack, client)
    for operation, count in small.items():
        add_row(
            f"SQL queries per {operation}",
            f"{large[operation]} with 20,000 calls in the table",
            f"{count} with a handful",
            "same" if large[operation] == count else "GREW",
            note="absolute count (transaction statements excluded)",
        )


def fill_sweeper_table(now, start: int, stop: int) -> None:
    """Calls ``start`` to ``stop``: the first DUE are due (half to send, half to poll), the next
    4,000 await a later poll, the rest are final.

    "Now" for the sweeper is two hours ahead, so the running beat sees none of them as due.
    """
    campaign, _ = Campaign.objects.get_or_create(campaign_id="c78af")
    due_at, later = now + timedelta(hours=2), now + timedelta(hours=5)

    def call(index: int) -> Call:
        fields = {"status": Call.Status.SUCCESS, "finished_at": now}
        if index < DUE // 2:
            fields = {"status": Call.Status.PENDING, "otp": "4829", "next_attempt_at": due_at}
        elif index < DUE:
            fields = {"status": Call.Status.SENT, "next_poll_at": due_at, "sent_at": now}
        elif index < DUE + 4_000:
            fields = {"status": Call.Status.SENT, "next_poll_at": later, "sent_at": now}
        return Call(
            campaign=campaign,
            phone_number=f"075{index:07d}",
            provider_call_id=None if index < DUE // 2 else str(uuid.uuid4()),
            created_at=now + timedelta(hours=2) - timedelta(seconds=10),
            **fields,
        )

    Call.objects.bulk_create((call(index) for index in range(start, stop)), batch_size=5000)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE django_voiceotp_call")


def sweep(now) -> tuple[dict, int, float, int]:
    """The sweeper's database work (what poll_pending_calls runs before it enqueues)."""
    tracemalloc.start()
    started = time.perf_counter()
    with CaptureQueriesContext(connection) as queries:
        found = {
            "expired": sweeping.expire_stale_calls(now),
            "to send": len(sweeping.calls_due_for_send(now)),
            "to poll": len(sweeping.calls_due_for_poll(now)),
        }
    elapsed = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return found, len(app_queries(queries)), elapsed, peak


def test_sweeper_cost(stack, capsys):
    now = timezone.now()
    sweep_now = now + timedelta(hours=2)
    expected = {"expired": 0, "to send": min(DUE // 2, sweeping.SWEEP_BATCH), "to poll": DUE // 2}
    fill_sweeper_table(now, 0, TABLE_SIZE // 10)
    small = sweep(sweep_now)
    fill_sweeper_table(now, TABLE_SIZE // 10, TABLE_SIZE)
    found, queries, elapsed, peak = sweep(sweep_now)
    assert small[0] == found == expected

    plans = {
        "due for send": Call.objects.due_for_send(sweep_now)
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[: sweeping.SWEEP_BATCH],
        "due for poll": Call.objects.due_for_poll(sweep_now)
        .order_by("next_poll_at")
        .values_list("pk", flat=True)[: sweeping.SWEEP_BATCH],
        "expired": sweeping.stale_calls(sweep_now).order_by("created_at")[: sweeping.SWEEP_BATCH],
    }
    with capsys.disabled():
        print(f"\nSweeper over {TABLE_SIZE:,} calls, {DUE:,} due: EXPLAIN (PostgreSQL)")
        for name, queryset in plans.items():
            plan = queryset.explain()
            print(f"-- {name}\n{plan}")
            assert "Index" in plan, plan
    add_row(
        f"sweeper: {TABLE_SIZE:,} calls, {DUE:,} due",
        f"{elapsed * 1000:.0f} ms, {queries} queries, peak {peak / 1024:.0f} KiB",
        f"{TABLE_SIZE // 10:,} calls: {small[2] * 1000:.0f} ms, {small[1]} queries, "
        f"peak {small[3] / 1024:.0f} KiB",
        f"time x{elapsed / small[2]:.1f}, memory x{peak / small[3]:.1f}",
        note="index scans (EXPLAIN above); memory flat",
    )
