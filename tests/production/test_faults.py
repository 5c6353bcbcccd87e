"""Scenarios 3 to 5: a worker killed mid-send, the broker down, the provider down."""

from __future__ import annotations

import os
import signal
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection

from django_voiceotp import send_otp
from django_voiceotp.models import Call

from .stack import STACK_VOICEOTP, WORKER_POOLS, wait_for
from .test_burst import expected_outcome, final_signal_chain, send_burst

pytestmark = pytest.mark.django_db(transaction=True)

MAX_ATTEMPTS = STACK_VOICEOTP["SEND_MAX_RETRIES"] + 1
#: Longest a send waits for its lease to lapse (claims.send_lease), plus the sweeper's round.
LEASE_WAIT = 4 * sum(STACK_VOICEOTP["TIMEOUT"]) + 30 + 30


def assert_delivered_once(stack, signal_counts, call_ids) -> list[Call]:
    calls = list(Call.objects.filter(pk__in=call_ids))
    assert len(calls) == len(call_ids)
    for call in calls:
        assert (call.status, call.failure_reason) == expected_outcome(call.phone_number), call
    assert stack.sandbox.request_counts()["voiceotp"] == len(call_ids)
    assert {c["call_id"] for c in stack.sandbox.calls()} == {c.provider_call_id for c in calls}
    signals = signal_counts(call_ids)
    for call in calls:
        assert set(signals[call.pk].values()) == {1}, (call, signals[call.pk])
        assert set(signals[call.pk]) in final_signal_chain(call.status), call
    return calls


@pytest.mark.parametrize("worker_pool", WORKER_POOLS, ids=str)
def test_worker_killed_while_sending_still_places_the_call_once(stack, signal_counts):
    """SIGKILL every process running tasks while the send waits for its token, before the call
    request.

    With prefork the task comes back (acks_late + reject_on_worker_lost) and finds the call
    claimed; once the claim's lease lapses, the sweeper sends it again: one call placed, on the
    second attempt. With threads the worker itself dies; the same holds.
    """
    # Slow, yet under the read timeout: the kill lands while the worker waits for it.
    stack.sandbox.inject("slow", endpoint="token", seconds=1.8)
    call = send_otp("0771122330", "482915")
    assert (
        wait_for(lambda: stack.sandbox.request_counts()["token"] == 0, 30, interval=0.02) is False
    )
    pool = stack.worker_pool_pids()
    for pid in pool:
        os.kill(pid, signal.SIGKILL)
    assert stack.sandbox.request_counts()["voiceotp"] == 0  # killed before the call request
    if stack.worker_pool.pool == "threads":
        # The whole worker died with its task unacknowledged: Redis gives it back only after
        # its visibility timeout. A supervisor (systemd) starts the worker again; the sweeper
        # sends the call once its claim's lease has lapsed.
        for index in range(len(stack.workers)):
            stack.restart_worker(index)

    assert stack.wait_until_final([call.pk], timeout=LEASE_WAIT) == []
    (call,) = assert_delivered_once(stack, signal_counts, [call.pk])
    assert call.send_attempts == 2
    # The workers replaced their pool processes: the stack is whole for the next test.
    replaced = lambda: len(set(stack.worker_pool_pids()) - set(pool)) < len(pool)  # noqa: E731
    assert wait_for(replaced, 30) is False


def test_broker_down_then_back_calls_sent_by_the_sweeper(stack, signal_counts):
    """Redis (broker and cache) stops while send_otp runs: the tasks are lost, never the calls."""
    stack.redis.stop()
    try:

        def send(index):
            try:
                return send_otp(f"078{index:07d}", "482915").pk
            finally:
                connection.close()

        with ThreadPoolExecutor(max_workers=4) as pool:
            call_ids = list(pool.map(send, range(20)))
        assert Call.objects.filter(pk__in=call_ids, status="pending").count() == 20
    finally:
        stack.redis.start()  # empty: the queued tasks and the cached token are gone

    assert stack.wait_until_final(call_ids, timeout=120) == []
    calls = assert_delivered_once(stack, signal_counts, call_ids)
    assert {call.send_attempts for call in calls} == {1}
    assert stack.sandbox.request_counts()["token"] == 1


def test_provider_down_for_a_while_calls_retried_then_delivered(stack, signal_counts):
    stack.sandbox.stop()  # connection refused
    try:
        call_ids = send_burst(10, threads=2)
        retried = Call.objects.filter(pk__in=call_ids, send_attempts__lt=2)
        assert wait_for(lambda: list(retried.values_list("pk", flat=True)), 30) == []
    finally:
        stack.sandbox.start()

    assert stack.wait_until_final(call_ids, timeout=60) == []
    calls = assert_delivered_once(stack, signal_counts, call_ids)
    assert all(2 <= call.send_attempts <= MAX_ATTEMPTS for call in calls)


def test_provider_down_too_long_calls_fail_with_the_reason(stack, signal_counts):
    stack.sandbox.stop()
    try:
        call_ids = send_burst(10, threads=2)
        assert stack.wait_until_final(call_ids, timeout=60) == []
    finally:
        stack.sandbox.start()

    calls = list(Call.objects.filter(pk__in=call_ids))
    signals = signal_counts(call_ids)
    for call in calls:
        assert call.status == "failed"
        assert call.failure_reason.startswith("provider unavailable: Could not reach the provider")
        # No retry storm: each call tried exactly as often as SEND_MAX_RETRIES allows.
        assert call.send_attempts == MAX_ATTEMPTS
        assert signals[call.pk] == {
            ("call_status_changed", "pending", "failed"): 1,
            ("call_failed", "", ""): 1,
        }
    assert stack.sandbox.request_counts()["voiceotp"] == 0
