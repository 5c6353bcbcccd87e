"""Scenario 1: a burst of send_otp from several threads, delivered by worker processes."""

from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection

from django_voiceotp import send_otp
from django_voiceotp.models import Call

pytestmark = pytest.mark.django_db(transaction=True)

BURST = 500
THREADS = 8
#: The sandbox's verdict by the number's last digit (README, "The sandbox provider").
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


def test_burst_of_sends_is_delivered_once_each(stack, signal_counts):
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
