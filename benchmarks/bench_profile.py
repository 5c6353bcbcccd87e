"""Where the CPU of one call goes: send_otp and the send task's service, profiled in-process.

The stack's sandbox, PostgreSQL and Redis serve the calls; the send's job is run here instead of
in a worker (its task is published to a queue no worker reads, at the same cost), so cProfile
sees every step. Celery's own work in the worker (receiving, acking) is not in this profile: the
latency benchmark's CPU figures hold it.
"""

from __future__ import annotations

import cProfile
import pstats
import time
from unittest import mock

import pytest
from celery import current_app

from django_voiceotp import jobs, send_otp, tasks
from django_voiceotp.models import Call

from .conftest import add_row

pytestmark = pytest.mark.django_db(transaction=True)

CALLS = 300
PROFILE_QUEUE = "voiceotp-profile"

#: The parts of a call, each as the functions whose cumulative time it is (file suffix, name).
PARTS = {
    "send_otp (all)": [("django_voiceotp/sending.py", "send_otp")],
    "send_call service (all)": [("django_voiceotp/sending.py", "send_call")],
    "SQL (build + run)": [
        ("django/db/models/sql/compiler.py", "execute_sql"),
        ("django_voiceotp/claims.py", "claim_and_read"),  # its own SQL, not the compiler's
    ],
    "task publish": [("celery/app/task.py", "apply_async")],
    "provider HTTP": [("requests/sessions.py", "request")],
    "  of which, the environment (proxies)": [
        ("requests/sessions.py", "merge_environment_settings")
    ],
    "token from the cache": [("django_voiceotp/client.py", "get_access_token")],
    "phone parse + validation": [
        ("django_voiceotp/phone.py", "normalize_phone_number"),
        ("django_voiceotp/phone.py", "validate_otp"),
    ],
    "callback URL (reverse + sign)": [("django_voiceotp/callback_urls.py", "callback_url_for")],
    "campaign lookup": [("django_voiceotp/sending.py", "resolve_campaign")],
    "logging": [("logging/__init__.py", "info")],
}


def part_times(stats: pstats.Stats) -> dict[str, float]:
    """Cumulative seconds of each part (recursive calls counted once, as pstats does)."""
    totals = dict.fromkeys(PARTS, 0.0)
    for (filename, _, name), (_, _, _, cumulative, _) in stats.stats.items():  # type: ignore[attr-defined]
        for part, functions in PARTS.items():
            if any(filename.endswith(suffix) and name == fn for suffix, fn in functions):
                totals[part] += cumulative
    return totals


def place(index: int) -> None:
    call = send_otp(f"077{index:07d}", "482915")
    jobs.send_call(call.pk)


def test_profile_of_a_call(stack, capsys):
    stack.sandbox.reset(call_duration=120)
    publish = tasks.send_call.apply_async

    def elsewhere(args, **options):
        return publish(args, queue=PROFILE_QUEUE, **options)

    with mock.patch.object(tasks.send_call, "apply_async", elsewhere):
        for index in range(20):  # warm: token, connections, imports
            place(index)
        profile = cProfile.Profile(time.process_time)
        started = time.process_time()
        profile.enable()
        for index in range(20, 20 + CALLS):
            place(index)
        profile.disable()
        cpu = time.process_time() - started
    with current_app.connection_for_write() as conn:
        conn.default_channel.queue_purge(PROFILE_QUEUE)
    assert Call.objects.filter(status="sent").count() == CALLS + 20

    stats = pstats.Stats(profile)
    totals = part_times(stats)
    per_call = cpu * 1000 / CALLS
    with capsys.disabled():
        print(f"\nProfile of {CALLS} calls, in-process CPU {per_call:.2f} ms per call:")
        for part, seconds in totals.items():
            print(f"  {part:<32} {seconds * 1000 / CALLS:6.2f} ms  {seconds / cpu:5.0%}")
        stats.sort_stats("cumulative").print_stats(25)
    split = ", ".join(
        f"{part} {seconds * 1000 / CALLS:.2f}" for part, seconds in totals.items() if seconds
    )
    add_row(
        f"profile: send_otp + send_call, {CALLS} calls in-process",
        f"{per_call:.2f} ms CPU per call",
        "",
        "",
        note=f"ms per call: {split}",
    )
