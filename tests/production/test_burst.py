"""Scenario 1: a burst of send_otp from several threads, delivered by worker processes."""

from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection

from django_voiceotp import send_otp, tasks
from django_voiceotp.models import Call, Campaign
from django_voiceotp.sealing import seal_otp

from .stack import GUNICORN_WORKERS, METRICS, WORKER_POOLS

pytestmark = pytest.mark.django_db(transaction=True)

BURST = 500
THREADS = 8
DUPLICATED_CALLS = 100
#: The sandbox's verdict by the number's last digit (docs/sandbox.rst, "Outcomes and faults").
EXPECTED = {"7": ("failed", "BUSY"), "8": ("failed", "NOANWSER"), "9": ("failed", "Fail")}


def expected_outcome(phone_number: str) -> tuple[str, str]:
    return EXPECTED.get(phone_number[-1], ("success", ""))


def final_signal_chain(final_status: str) -> list[set]:
    """The signals one call may fire, as a set of (signal, old, new): one of these, exactly."""
    final = "call_succeeded" if final_status == "success" else "call_failed"
    via_sent = {
        ("call_status_changed", "pending", "sent"),
        ("call_status_changed", "sent", final_status),
        (final, "", ""),
    }
    # A callback may beat the send task's bookkeeping: then pending moves straight to final.
    direct = {("call_status_changed", "pending", final_status), (final, "", "")}
    return [via_sent, direct]


def send_burst(count: int, threads: int = THREADS) -> list[int]:
    def send(index: int) -> int:
        try:
            return send_otp(f"077{index:07d}", f"{index:06d}").pk
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=threads) as pool:
        return list(pool.map(send, range(count)))


@pytest.mark.parametrize("worker_pool", WORKER_POOLS, ids=str)
def test_burst_of_sends_is_delivered_once_each(stack, signal_counts):
    logs = stack.worker_log_ends()
    call_ids = send_burst(BURST)

    assert stack.wait_until_final(call_ids, timeout=180) == []
    assert stack.wait_for_callbacks() == []

    calls = list(Call.objects.filter(pk__in=call_ids))
    assert len(calls) == BURST
    for call in calls:
        status, reason = expected_outcome(call.phone_number)
        assert (call.status, call.failure_reason) == (status, reason), call
        assert call.otp == ""
    # Exactly one provider request per call, and every call the provider has is one of ours.
    counts = stack.sandbox.request_counts()
    assert counts["voiceotp"] == BURST
    # The calls rode batches: while a send job waited or ran, new calls published none.
    send_jobs = stack.tasks_received("django_voiceotp.tasks.send_call", logs)
    METRICS[f"burst of {BURST} on {stack.worker_pool}"] = {"send jobs": send_jobs}
    assert 0 < send_jobs <= BURST // 2, send_jobs
    provider_ids = {call["call_id"] for call in stack.sandbox.calls()}
    assert provider_ids == {call.provider_call_id for call in calls}
    # One token for all worker processes, through the shared Redis cache.
    assert counts["token"] == 1
    # Exactly one signal of each kind per transition, whichever process made it.
    signals = signal_counts(call_ids)
    for call in calls:
        fired = signals[call.pk]
        assert set(fired.values()) == {1}, (call, fired)
        assert set(fired) in final_signal_chain(call.status), (call, fired)
    # Every callback gunicorn answered was answered 200: applied or recognised as a duplicate.
    # (On a loaded machine the sandbox may give up waiting on one: the poll then finished the
    # call, as checked above.)
    responses = Counter(code for c in stack.sandbox.calls() for code in c["callback_responses"])
    assert {code for code in responses if isinstance(code, int)} == {200}, responses
    assert sum(responses.values()) == BURST
    # Connections are the threads' own and reused: never more than one per worker thread,
    # web worker and the beat (the burst's sending threads closed theirs).
    pool = stack.worker_pool
    assert database_connections() <= pool.processes * pool.concurrency + GUNICORN_WORKERS + 2


def database_connections() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid()"
        )
        return cursor.fetchone()[0]


@pytest.mark.parametrize("worker_pool", WORKER_POOLS, ids=str)
def test_duplicated_send_tasks_place_each_call_once(stack, signal_counts):
    """Every send task delivered three times at once (a broker redelivery, a sweeper's resend):
    one provider request and one signal of each kind per call."""
    campaign, _ = Campaign.objects.get_or_create(campaign_id="c78af")
    calls = Call.objects.bulk_create(
        Call(campaign=campaign, phone_number=f"079{index:07d}", otp=seal_otp("482915"))
        for index in range(DUPLICATED_CALLS)
    )
    for _ in range(3):
        for call in calls:
            tasks.send_call.delay(call.pk)
    call_ids = [call.pk for call in calls]

    assert stack.wait_until_final(call_ids, timeout=120) == []
    assert stack.sandbox.request_counts()["voiceotp"] == DUPLICATED_CALLS
    signals = signal_counts(call_ids)
    for call in Call.objects.filter(pk__in=call_ids):
        assert (call.status, call.failure_reason) == expected_outcome(call.phone_number), call
        assert call.send_attempts == 1, call
        assert set(signals[call.pk].values()) == {1}, (call, signals[call.pk])
        assert set(signals[call.pk]) in final_signal_chain(call.status), call
