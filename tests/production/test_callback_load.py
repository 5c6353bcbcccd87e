"""Scenarios 6 and 7: the callback endpoint under load, and under hostile traffic, from a second
process posting to gunicorn."""

from __future__ import annotations

import json
import random
import uuid
from collections import Counter

import pytest

from django_voiceotp.callback_urls import callback_url_for
from django_voiceotp.models import Call, CallbackEvent

from .factories import sent_calls
from .loadgen import percentile
from .stack import METRICS, post_concurrently

pytestmark = pytest.mark.django_db(transaction=True)

Verdict = CallbackEvent.Verdict
LOAD_CALLBACKS = 2000
CONCURRENCY = 32


def report(call: Call, status: str = "Success", **changes) -> str:
    body = {
        "call_id": call.provider_call_id,
        "campaign_id": "c78af",
        "phone_number": call.phone_number,
        "status": status,
        "duration": 11 if status == "Success" else 0,
        "keypress": "482915",
        "start_time": "2026-11-28 10:00:00",
        "user_id": "f461",
        **changes,
    }
    return json.dumps(body)


def record_latency(name: str, result: dict) -> None:
    latencies = result["latencies_ms"]
    METRICS[name] = {
        "requests": len(latencies),
        "concurrency": CONCURRENCY,
        "per_second": round(len(latencies) / result["elapsed"]),
        "p50_ms": round(percentile(latencies, 0.50), 1),
        "p99_ms": round(percentile(latencies, 0.99), 1),
        "max_ms": round(max(latencies), 1),
    }


def test_callback_endpoint_under_load(stack, signal_counts, tmp_path):
    calls = sent_calls(LOAD_CALLBACKS)
    specs = [
        {"url": callback_url_for(call), "body": report(call, "Success" if i % 4 else "BUSY")}
        for i, call in enumerate(calls)
    ]

    result = post_concurrently(specs, CONCURRENCY, tmp_path)
    record_latency("scenario 6: callbacks under load", result)

    assert Counter(result["statuses"]) == {200: LOAD_CALLBACKS}  # no 5xx, no connection error
    events = CallbackEvent.objects.filter(call__in=calls)
    assert events.count() == LOAD_CALLBACKS
    assert set(events.values_list("verdict", flat=True)) == {Verdict.APPLIED}
    assert dict(
        Counter(Call.objects.filter(pk__in=[c.pk for c in calls]).values_list("status", flat=True))
    ) == {
        "success": LOAD_CALLBACKS * 3 // 4,
        "failed": LOAD_CALLBACKS // 4,
    }
    signals = signal_counts([call.pk for call in calls])
    assert all(sum(fired.values()) == 2 for fired in signals.values())
    # The keypress (the passcode the person typed) is never stored.
    assert not events.exclude(payload__keypress="[redacted]").exists()


def test_hostile_traffic_is_refused_and_recorded_while_real_callbacks_apply(
    stack, signal_counts, tmp_path
):
    real_calls = sent_calls(300)
    others = real_calls[:100]
    oversized = "x" * 17_000
    plan = [  # (how many, build a request from a call, expected HTTP status, verdict)
        ("real", real_calls, lambda c: report(c), "application/json", 200, Verdict.APPLIED),
        ("forged token", range(200), None, "application/json", 403, Verdict.BAD_TOKEN),
        (
            "oversized",
            others,
            lambda c: report(c, padding=oversized),
            "application/json",
            413,
            Verdict.TOO_LARGE,
        ),
        ("oversized forged", range(50), None, "application/json", 413, Verdict.TOO_LARGE),
        ("not json", others, lambda c: report(c)[:-7], "application/json", 400, Verdict.MALFORMED),
        ("wrong type", others, lambda c: report(c), "text/plain", 415, Verdict.MALFORMED),
        (
            "other call",
            others,
            lambda c: report(c, call_id=str(uuid.uuid4())),
            "application/json",
            400,
            Verdict.MISMATCH,
        ),
    ]
    specs, expected_status, expected_verdicts = [], Counter(), Counter()
    web = stack.web_url + "/voiceotp/callbacks/"
    for name, items, build, content_type, status, verdict in plan:
        for item in items:
            if build is None:  # a random token, no call behind it
                token = f"{random.randint(1, 10**9)}:{uuid.uuid4().hex}"
                body = oversized if name == "oversized forged" else '{"call_id": "x", "status": ""}'
                url = f"{web}{token}/"
            else:
                url, body = callback_url_for(item), build(item)
            specs.append({"url": url, "body": body, "content_type": content_type, "name": name})
            expected_status[(name, status)] += 1
            expected_verdicts[verdict] += 1
    random.Random(5).shuffle(specs)

    result = post_concurrently(specs, CONCURRENCY, tmp_path)
    record_latency("scenario 7: mixed real and hostile callbacks", result)

    got = Counter(zip([spec["name"] for spec in specs], result["statuses"], strict=True))
    assert got == expected_status
    # Each request is recorded; those without a valid token (one client here) are counted on one
    # event per verdict, so a forged flood costs a row, not a row a request.
    recorded = Counter()
    for verdict, count in CallbackEvent.objects.values_list("verdict", "count"):
        recorded[verdict] += count
    assert recorded == expected_verdicts
    unauthenticated = CallbackEvent.objects.filter(call=None)
    assert sorted(unauthenticated.values_list("verdict", flat=True)) == sorted(
        [Verdict.BAD_TOKEN, Verdict.TOO_LARGE]
    )
    real_ids = [call.pk for call in real_calls]
    assert Call.objects.filter(pk__in=real_ids, status="success").count() == 300
    applied = CallbackEvent.objects.filter(verdict=Verdict.APPLIED)
    assert sorted(applied.values_list("call_id", flat=True)) == sorted(real_ids)
    signals = signal_counts(real_ids)
    assert all(
        fired == {("call_status_changed", "sent", "success"): 1, ("call_succeeded", "", ""): 1}
        for fired in signals.values()
    )
