"""The circuit breaker's state is one for every process: two processes, forked from this one, share
it through the tier's Redis (the limits cache), and each change of state is made, and logged, by
one of them. And failover on PostgreSQL, where the claim is an ``UPDATE … RETURNING``: send jobs
of the same calls racing each other place each call once, at the next provider."""

from __future__ import annotations

import logging
import multiprocessing
import threading
import time

import pytest
from django.core.cache import caches
from django.db import connection

from django_voiceotp import breaker, sending
from django_voiceotp.exceptions import ProviderUnavailable
from django_voiceotp.models import Call
from django_voiceotp.providers import get_provider
from django_voiceotp.providers.recording import RecordingProvider

from ..concurrency import race

PROCESSES = 2


@pytest.fixture
def shared_breaker(voiceotp):
    voiceotp(BREAKER_THRESHOLD=6, BREAKER_COOLDOWN=60)
    assert type(caches["default"]).__name__ == "RedisCache"
    breaker.reset("pitel")
    yield
    breaker.reset("pitel")


class _Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


def _in_a_process(barrier, work, queue) -> None:
    """Run ``work`` once every process is ready; put back what it returns and what it logged."""
    lines = _Lines()
    logging.getLogger("django_voiceotp").addHandler(lines)
    barrier.wait()
    result = work()
    queue.put((result, [line for line in lines.lines if "circuit breaker" in line]))


def _fail_three_times():
    for _ in range(3):
        breaker.failed("pitel")


def _ask_to_probe():
    return breaker.allows("pitel")


def in_two_processes(work):
    context = multiprocessing.get_context("fork")  # the settings this test made, inherited
    barrier, queue = context.Barrier(PROCESSES), context.Queue()
    processes = [
        context.Process(target=_in_a_process, args=(barrier, work, queue)) for _ in range(PROCESSES)
    ]
    for process in processes:
        process.start()
    results = [queue.get(timeout=60) for _ in processes]
    for process in processes:
        process.join(timeout=60)
        assert process.exitcode == 0
    return results


def test_failures_in_two_processes_open_the_breaker_once_for_both(shared_breaker):
    results = in_two_processes(_fail_three_times)
    # Six failures in a row, three in each process: the threshold, reached by one increment.
    assert sorted(len(lines) for _, lines in results) == [0, 1]
    assert breaker.state("pitel").state == breaker.OPEN
    assert not breaker.allows("pitel")  # this process too sees it open


def test_after_the_cooldown_one_process_of_two_probes(shared_breaker):
    for _ in range(6):
        breaker.failed("pitel")
    # The cool-down over, as the shared state says (not this process's clock alone).
    caches["default"].set(f"{breaker.KEY_PREFIX}:pitel:opened", time.time() - 61, timeout=None)
    results = in_two_processes(_ask_to_probe)
    assert sorted(allowed for allowed, _ in results) == [False, True]
    assert not breaker.allows("pitel")  # the probe is out: nobody else calls
    breaker.succeeded("pitel")  # it was placed (as the probing process would report)
    assert breaker.state("pitel").state == breaker.CLOSED


class Refusing(RecordingProvider):
    """A provider whose connections are refused: it places nothing, and says so."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.refused = 0
        self._lock = threading.Lock()

    def start_call(self, campaign_id, phone_number, otp, callback_url=None):
        with self._lock:  # the racing threads count here too
            self.refused += 1
        raise ProviderUnavailable("connection refused", placed_nothing=True)


CALLS, JOBS_PER_CALL = 8, 4


@pytest.mark.django_db(transaction=True)
def test_racing_send_jobs_fail_over_each_call_once_on_postgresql(voiceotp, dispatched):
    assert connection.vendor == "postgresql"
    voiceotp(
        PROVIDERS={
            "first": {
                "BACKEND": "tests.production.test_breaker.Refusing",
                "DEFAULT_CAMPAIGN": "c1",
            },
            "second": {
                "BACKEND": "django_voiceotp.providers.recording.RecordingProvider",
                "DEFAULT_CAMPAIGN": "c2",
            },
        },
        FAILOVER=["first", "second"],
        BREAKER_THRESHOLD=0,  # every call asks the first: the race is on the claim alone
    )
    first, second = get_provider("first"), get_provider("second")
    second.clear()
    call_ids = [sending.send_otp(f"09012345{index:02d}", "482916").pk for index in range(CALLS)]
    race(lambda index: sending.send_call(call_ids[index % CALLS]), count=CALLS * JOBS_PER_CALL)
    calls = list(Call.objects.filter(pk__in=call_ids).select_related("campaign"))
    assert {(c.status, c.provider, c.campaign.campaign_id, c.send_attempts) for c in calls} == {
        ("sent", "second", "c2", 1)
    }
    assert sorted(p.call_id for p in second.placed) == sorted(c.provider_call_id for c in calls)
    assert [p.otp for p in second.placed] == ["482916"] * CALLS
    assert first.refused == CALLS  # one attempt per call, whatever the jobs
