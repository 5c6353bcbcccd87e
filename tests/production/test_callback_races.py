"""Scenario 2: duplicate, early and late callbacks racing polls for the same calls (PostgreSQL)."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from django_voiceotp.callback_urls import callback_url_for
from django_voiceotp.models import Call, CallbackEvent

from .stack import WORKER_POOLS, post_concurrently, wait_for
from .test_burst import expected_outcome, final_signal_chain, send_burst

pytestmark = pytest.mark.django_db(transaction=True)

CALLS = 300
EARLY = 60  # the provider posts the result before it answers the send
DUPLICATED = 120  # the provider posts the result three times
EXTRA_COPIES = 2  # and we post it twice more ourselves, all at once, while workers poll
Verdict = CallbackEvent.Verdict


def callback_specs(calls: list[Call], copies: int) -> list[dict]:
    """The final report of each call, as the provider would post it, ``copies`` times."""
    specs = []
    for call in calls:
        status, raw_status = expected_outcome(call.phone_number)
        body = {
            "call_id": call.provider_call_id,
            "campaign_id": "c78af",
            "phone_number": call.phone_number,
            "status": raw_status if status == "failed" else "Success",
            "duration": 11 if status == "success" else 0,
            "keypress": "",
            "start_time": "2026-11-28 10:00:00",
            "user_id": "f461",
        }
        specs += [{"url": callback_url_for(call), "body": json.dumps(body)}] * copies
    return specs


@pytest.mark.parametrize("worker_pool", WORKER_POOLS, ids=str)
def test_racing_callbacks_and_polls_make_one_transition(stack, signal_counts, tmp_path):
    # Long enough calls that polls (at 1, 2, 3 s) meet the provider's callback and ours.
    stack.sandbox.reset(call_duration=3.0)
    stack.sandbox.inject("early_callback", times=EARLY)
    stack.sandbox.inject("duplicate_callbacks", times=DUPLICATED, copies=3)

    call_ids = send_burst(CALLS)
    # As soon as the provider has every call, our own copies go out, hundreds at once.
    unsent = Call.objects.filter(pk__in=call_ids, provider_call_id__isnull=True)
    assert wait_for(lambda: list(unsent.values_list("pk", flat=True)), 120, interval=0.1) == []
    calls = list(Call.objects.filter(pk__in=call_ids))
    racing = post_concurrently(callback_specs(calls, EXTRA_COPIES), 32, tmp_path)

    assert stack.wait_until_final(call_ids, timeout=120) == []
    assert stack.wait_for_callbacks() == []
    # Late copies, once every call is final: all duplicates.
    late = post_concurrently(callback_specs(calls, 1), 32, tmp_path)

    assert set(racing["statuses"]) == {200} and set(late["statuses"]) == {200}
    calls = {call.pk: call for call in Call.objects.filter(pk__in=call_ids)}
    signals = signal_counts(call_ids)
    # Copies after a call's result are counted on one event: every request is in a count.
    verdicts = Counter()
    events = CallbackEvent.objects.filter(call__in=call_ids)
    for call_id, verdict, count in events.values_list("call_id", "verdict", "count"):
        verdicts[(call_id, verdict)] += count
    provider_posts = sum(len(c["callback_responses"]) for c in stack.sandbox.calls())
    assert provider_posts == CALLS + DUPLICATED * 2
    assert sum(verdicts.values()) == provider_posts + CALLS * (EXTRA_COPIES + 1)
    for call in calls.values():
        assert (call.status, call.failure_reason) == expected_outcome(call.phone_number)
        fired = signals[call.pk]
        assert set(fired.values()) == {1}, (call, fired)
        assert set(fired) in final_signal_chain(call.status), (call, fired)
        applied = verdicts[(call.pk, Verdict.APPLIED)]
        # The one final transition came by a callback or, failing that, by a poll.
        assert applied == 1 or (applied == 0 and call.poll_count >= 1), call
        assert set(v for (pk, v) in verdicts if pk == call.pk) <= {
            Verdict.APPLIED,
            Verdict.DUPLICATE,
        }
    assert stack.sandbox.request_counts()["voiceotp"] == CALLS
