"""Send and callback throughput of the deployed app, each over a yardstick on the same machine."""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.core.cache import cache
from django.db import connection

from django_voiceotp import send_otp
from django_voiceotp.callback_urls import callback_url_for
from django_voiceotp.models import Call, CallbackEvent
from tests.production.factories import sent_calls
from tests.production.loadgen import percentile
from tests.production.stack import CELERY_WORKERS, post_concurrently, wait_for

from .bench_latency import CpuMeter, postmaster_pid
from .conftest import add_row, bare_send_loop, load_average

pytestmark = pytest.mark.django_db(transaction=True)

SENDS = 1000
#: The workers' pool processes: the raw loop gets as many threads.
SEND_CONCURRENCY = CELERY_WORKERS * 2
CALLBACKS = 2000
CALLBACK_CONCURRENCY = 32
ROUNDS = 5
#: Issue 20's target: callbacks applied per second against the bare view's.
CALLBACK_TARGET = 0.6


def pipeline_send(stack, count: int) -> float:
    """Calls accepted per second through send_otp, the broker and the worker processes."""

    def send(index: int) -> None:
        try:
            send_otp(f"077{index:07d}", "482915")
        finally:
            connection.close()

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=SEND_CONCURRENCY) as pool:
        list(pool.map(send, range(count)))
    unsent = Call.objects.filter(sent_at__isnull=True)
    left = wait_for(lambda: unsent.exists(), 300, 0.02)
    elapsed = time.perf_counter() - started
    assert left is False, "not every call was placed"
    return count / elapsed


def test_send_throughput(stack):
    # Long calls: no callback lands while sends are measured (polls do: the pipeline's cost).
    stack.sandbox.reset(call_duration=60)
    raw = SENDS / bare_send_loop(stack.sandbox.url, SENDS, SEND_CONCURRENCY)
    stack.sandbox.reset(call_duration=60)
    cache.clear()
    through_app = pipeline_send(stack, SENDS)
    assert Call.objects.filter(status="sent").count() == SENDS
    add_row(
        f"send: {SENDS} calls, concurrency {SEND_CONCURRENCY}",
        f"{through_app:.0f} calls/s (send_otp + workers)",
        f"{raw:.0f} calls/s (raw pooled loop)",
        f"{through_app / raw:.0%}",
        note="the tier's prefork workers (the send targets: bench_latency's rows)",
    )


def callback_specs(calls: list[Call], bare: bool, base_url: str) -> list[dict]:
    specs = []
    for call in calls:
        url = callback_url_for(call)
        if bare:
            url = f"{base_url}/bench/bare/{url.rstrip('/').rsplit('/', 1)[1]}/"
        body = {"call_id": call.provider_call_id, "status": "Success", "duration": 11}
        specs.append({"url": url, "body": json.dumps(body)})
    return specs


def combine(results: list[dict]) -> dict:
    return {
        "statuses": [status for result in results for status in result["statuses"]],
        "latencies_ms": [ms for result in results for ms in result["latencies_ms"]],
        "elapsed": sum(result["elapsed"] for result in results),
    }


def summarise(result: dict) -> tuple[float, float, float]:
    latencies = result["latencies_ms"]
    return (
        len(latencies) / result["elapsed"],
        percentile(latencies, 0.5),
        percentile(latencies, 0.99),
    )


def test_callback_throughput(stack, tmp_path, postgres_server):
    stack.sandbox.reset()
    warm = sent_calls(200)
    post_concurrently(callback_specs(warm, True, stack.web_url), CALLBACK_CONCURRENCY, tmp_path)
    post_concurrently(callback_specs(warm, False, stack.web_url), CALLBACK_CONCURRENCY, tmp_path)

    # Bare and app in alternating rounds, so a change in the machine's load hits both alike.
    calls = sent_calls(CALLBACKS)
    bare_rounds, app_rounds = [], []
    # CPU of gunicorn and PostgreSQL: less swayed by what else runs on the machine than the rate.
    meters = {
        "gunicorn": CpuMeter(lambda: [(stack.web.pid, True)]),
        "PostgreSQL": CpuMeter(lambda: [(postmaster_pid(postgres_server), True)]),
    }
    cpu = {(bare, part): 0.0 for bare in (True, False) for part in meters}
    for start in range(0, CALLBACKS, CALLBACKS // ROUNDS):
        chunk = calls[start : start + CALLBACKS // ROUNDS]
        for rounds, bare in ((bare_rounds, True), (app_rounds, False)):
            specs = callback_specs(chunk, bare, stack.web_url)
            for meter in meters.values():
                meter.start()
            rounds.append(post_concurrently(specs, CALLBACK_CONCURRENCY, tmp_path))
            for part, meter in meters.items():
                cpu[bare, part] += meter.stop()
    bare, app = combine(bare_rounds), combine(app_rounds)
    assert set(bare["statuses"]) == {200} and set(app["statuses"]) == {200}
    assert CallbackEvent.objects.filter(call__in=calls, verdict="applied").count() == CALLBACKS

    app_rate, app_p50, app_p99 = summarise(app)
    bare_rate, bare_p50, bare_p99 = summarise(bare)

    def cpu_per_post(bare: bool) -> str:
        split = ", ".join(f"{part} {cpu[bare, part] * 1000 / CALLBACKS:.1f}" for part in meters)
        return f"CPU ms/post: {split}"

    app_cpu, bare_cpu = (sum(cpu[bare, part] for part in meters) for bare in (False, True))
    add_row(
        f"callback: {CALLBACKS} posts, concurrency {CALLBACK_CONCURRENCY}",
        f"{app_rate:.0f}/s applied, p50 {app_p50:.0f} ms, p99 {app_p99:.0f} ms, "
        + cpu_per_post(False),
        f"{bare_rate:.0f}/s bare view, p50 {bare_p50:.0f} ms, p99 {bare_p99:.0f} ms, "
        + cpu_per_post(True),
        f"{app_rate / bare_rate:.0%} (CPU x{app_cpu / bare_cpu:.1f}, gunicorn + PostgreSQL)",
        target=f">= {CALLBACK_TARGET:.0%} of the bare view",
        met=app_rate / bare_rate >= CALLBACK_TARGET,
        note=f"4 sync gunicorn workers, PostgreSQL; load {load_average()}",
    )
