"""The circuit breaker's state is one for every process: two processes, forked from this one, share
it through the tier's Redis (the limits cache), and each change of state is made, and logged, by
one of them."""

from __future__ import annotations

import logging
import multiprocessing
import time

import pytest
from django.core.cache import caches

from django_voiceotp import breaker

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
