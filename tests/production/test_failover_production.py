"""Failover and the circuit breaker in the deployed stack: two providers (two sandbox processes,
"pitel" and "backup"), gunicorn, and the tier's real Celery workers sharing Redis and PostgreSQL.

- A worker SIGKILLed while failing over: the first provider answered 5xx, the second has the
  request in hand. Each call is placed once in total, and each delivery ends with one signal.
- The breaker across two worker processes: unavailable outcomes seen by worker 0 open it, worker
  1 then skips the provider, and after the cool-down one probe is taken, by one of them.
"""

from __future__ import annotations

import os
import signal
import time

import pytest
import requests
from celery import current_app
from django.core.cache import caches

from django_voiceotp import breaker, send_otp
from django_voiceotp.models import Call
from django_voiceotp.sandbox import constants as sandbox
from django_voiceotp.tasks import send_call

from .stack import STACK_VOICEOTP, SandboxServer, wait_for
from .test_burst import final_signal_chain

pytestmark = pytest.mark.django_db(transaction=True)

PITEL = "django_voiceotp.providers.pitel.PitelProvider"
THRESHOLD = 5  # above the kill test's four failures: there the breaker stays closed
#: Longest a killed send waits for its lease to lapse (claims.send_lease), plus the sweeper's round.
LEASE_WAIT = 4 * sum(STACK_VOICEOTP["TIMEOUT"]) + 30 + 30


def provider_entry(sandbox_server: SandboxServer) -> dict:
    return {
        "BACKEND": PITEL,
        "API_URL": sandbox_server.url,
        "SECRET_KEY": sandbox.SECRET_KEY,
        # The sandbox knows one campaign: a call that moves takes the campaign it has.
        "DEFAULT_CAMPAIGN": sandbox.CAMPAIGN_ID,
    }


@pytest.fixture(scope="module")
def backup(stack_session, tmp_path_factory):
    """A second provider, "backup", after "pitel" in FAILOVER: every process of the stack runs
    with both for this module's tests, then as before."""
    server = SandboxServer(tmp_path_factory.mktemp("backup") / "backup.log").start()
    before = stack_session.voiceotp_options
    stack_session.reconfigure(
        {
            **before,
            "PROVIDERS": {
                "pitel": provider_entry(stack_session.sandbox),
                "backup": provider_entry(server),
            },
            "FAILOVER": ["pitel", "backup"],
            "BREAKER_THRESHOLD": THRESHOLD,
            "BREAKER_COOLDOWN": 60,
        }
    )
    try:
        yield server
    finally:
        stack_session.reconfigure(before)
        server.stop()


@pytest.fixture
def failover_stack(backup, stack):
    """The stack with both providers, fresh: sandboxes reset, each having issued the sandbox's
    token (so the one the workers share through the cache is good at both), nothing cached."""
    backup.reset()
    caches["default"].clear()  # the shared token, the breakers' state, the limits' counters
    for server in (stack.sandbox, backup):
        requests.post(
            f"{server.url}api/v1/users/generate_access_token",
            json={"secret_key": sandbox.SECRET_KEY},
            timeout=10,
        ).raise_for_status()
    yield stack
    caches["default"].clear()


def placed_calls(server: SandboxServer) -> dict[str, dict]:
    return {call["call_id"]: call for call in server.calls()}


def assert_one_signal_chain(signal_counts, calls) -> None:
    signals = signal_counts([call.pk for call in calls])
    for call in calls:
        assert set(signals[call.pk].values()) == {1}, (call, signals[call.pk])
        assert set(signals[call.pk]) in final_signal_chain(call.status), call


def test_a_worker_killed_while_failing_over_places_each_call_once(
    failover_stack, backup, signal_counts
):
    """Pitel answers 503 (it placed nothing), so each call goes to backup, which holds the request
    1.8 s before it places the call; every process running tasks is SIGKILLed meanwhile.

    The backup places the calls it was asked for and reports them; the tasks come back
    (acks_late) and find the calls claimed; once the claims' lease lapses the sweeper sends them
    again, from backup, where the early report shows each was placed: none is placed again."""
    stack = failover_stack
    count = 4  # one per pool process: 2 workers x -c 2
    stack.sandbox.inject("http_error", endpoint="voiceotp", status=503, times=count)
    backup.inject("slow", endpoint="voiceotp", seconds=1.8, times=count)
    call_ids = [send_otp(f"077112240{index}", "482915").pk for index in range(count)]

    in_hand = lambda: backup.request_counts()["voiceotp"] < count  # noqa: E731
    assert wait_for(in_hand, 30, interval=0.02) is False, "the calls never reached the backup"
    pool = stack.worker_pool_pids()
    for pid in pool:
        os.kill(pid, signal.SIGKILL)
    killed_at = Call.objects.filter(pk__in=call_ids, status="pending").count()
    assert killed_at == count, "the kill came after the sends were over"

    assert stack.wait_until_final(call_ids, timeout=LEASE_WAIT) == []
    calls = list(Call.objects.filter(pk__in=call_ids))
    assert {(call.status, call.provider) for call in calls} == {("success", "backup")}
    # Placed once in total across the providers: none by pitel, one each by backup.
    assert stack.sandbox.calls() == []
    assert stack.sandbox.request_counts()["voiceotp"] == count
    assert sorted(placed_calls(backup)) == sorted(call.provider_call_id for call in calls)
    assert backup.request_counts()["voiceotp"] == count
    # Each send was cut by the kill and finished by a second attempt.
    assert {call.send_attempts for call in calls} == {2}
    assert_one_signal_chain(signal_counts, calls)
    replaced = lambda: len(set(stack.worker_pool_pids()) - set(pool)) < len(pool)  # noqa: E731
    assert wait_for(replaced, 30) is False


# -- the breaker across the two workers ----------------------------------------------------------

SKIPPED = "the circuit breaker of pitel is open; skipped"


class Workers:
    """Each worker of the stack on a queue of its own, so a test says which one runs a send.

    While it is in use no worker takes the default queue: the send task ``send_otp`` queues
    there is dropped, and the test sends the call to the worker it chooses instead."""

    def __init__(self, stack) -> None:
        self.stack = stack
        replies = current_app.control.ping(timeout=10, limit=len(stack.workers))
        names = sorted(name for reply in replies for name in reply)
        self.names = [next(n for n in names if n.startswith(f"worker{i}@")) for i in range(2)]
        self.log_starts = [len(stack.worker_log(index)) for index in range(2)]

    def take_over(self) -> None:
        self.control("cancel_consumer", "celery")
        for index, name in enumerate(self.names):
            self.control("add_consumer", self.queue(index), destination=[name])

    @staticmethod
    def queue(index: int) -> str:
        return f"failover-test-worker{index}"

    def control(self, command: str, queue: str, destination=None) -> None:
        destination = destination or self.names
        replies = getattr(current_app.control, command)(
            queue, destination=destination, reply=True, timeout=10
        )
        assert len(replies) == len(destination), (command, queue, replies)

    def restore(self) -> None:
        current_app.control.purge()
        self.control("add_consumer", "celery")
        for index, name in enumerate(self.names):
            self.control("cancel_consumer", self.queue(index), destination=[name])

    def calls(self, phone_numbers: list[str]) -> list[int]:
        """Calls made by ``send_otp``, their queued send dropped: no worker has run them yet."""
        call_ids = [send_otp(number, "482915").pk for number in phone_numbers]
        current_app.control.purge()
        return call_ids

    def send(self, index: int, call_ids: list[int]) -> None:
        for call_id in call_ids:
            send_call.apply_async((call_id,), queue=self.queue(index))

    def logged(self, index: int) -> str:
        """What worker ``index`` logged since this test began."""
        return self.stack.worker_log(index)[self.log_starts[index] :]


@pytest.fixture
def workers(failover_stack):
    workers = Workers(failover_stack)
    try:
        workers.take_over()
        yield workers
    finally:  # the next tests need the workers on the default queue again
        workers.restore()


def times_logged(message: str, log: str) -> int:
    """How many times a worker logged ``message``: the lines the example project's console
    handler writes, which start with it (Celery's own handler writes each again, prefixed)."""
    return sum(line.startswith(message) for line in log.splitlines())


def end_cooldown() -> None:
    """The cool-down over, as the shared state says (the workers read it from Redis)."""
    opened = f"{breaker.KEY_PREFIX}:pitel:opened"
    caches["default"].set(opened, time.time() - 61, timeout=None)


def final(stack, call_ids) -> list[Call]:
    assert stack.wait_until_final(call_ids, timeout=30) == []
    return list(Call.objects.filter(pk__in=call_ids).order_by("pk"))


def test_the_breaker_one_worker_opens_the_other_respects_and_one_probes(
    failover_stack, backup, workers, signal_counts
):
    stack = failover_stack
    pitel_requests = lambda: stack.sandbox.request_counts()["voiceotp"]  # noqa: E731

    # Worker 0 meets pitel unavailable THRESHOLD times in a row: the breaker opens, once.
    stack.sandbox.inject("http_error", endpoint="voiceotp", status=503, times=THRESHOLD)
    first = workers.calls([f"07711225{index:02d}" for index in range(THRESHOLD)])
    workers.send(0, first)
    calls = final(stack, first)
    assert {(call.status, call.provider) for call in calls} == {("success", "backup")}
    assert pitel_requests() == THRESHOLD
    assert breaker.state("pitel").state == breaker.OPEN
    opened = "Provider pitel: circuit breaker open for 60 s after 5 unavailable outcomes in a row."
    assert times_logged(opened, workers.logged(0)) == 1
    assert "circuit breaker" not in workers.logged(1)

    # Worker 1 saw none of it, and skips pitel: its calls go straight to backup.
    second = workers.calls(["0771122510", "0771122511"])
    workers.send(1, second)
    calls = final(stack, second)
    assert {(call.status, call.provider) for call in calls} == {("success", "backup")}
    assert pitel_requests() == THRESHOLD
    for call in calls:
        assert f"Call {call.pk}: {SKIPPED}" in workers.logged(1)

    # The cool-down over, and pitel back (slow to answer: the probe is out while the others
    # decide): four sends, two in each worker, race for the half-open probe. One takes it, and
    # pitel places its call; the three others skip pitel. The breaker closes, once.
    end_cooldown()
    stack.sandbox.inject("slow", endpoint="voiceotp", seconds=1.5)
    third = workers.calls([f"077112252{index}" for index in range(4)])
    workers.send(0, third[:2])
    workers.send(1, third[2:])
    calls = final(stack, third)
    assert pitel_requests() == THRESHOLD + 1
    (probe,) = [call for call in calls if call.provider == "pitel"]
    assert probe.status == "success" and probe.provider_call_id in placed_calls(stack.sandbox)
    logs = [workers.logged(0), workers.logged(1)]
    others = [call for call in calls if call != probe]
    assert {(call.status, call.provider) for call in others} == {("success", "backup")}
    for call in others:
        assert any(f"Call {call.pk}: {SKIPPED}" in log for log in logs), call
    closed = "Provider pitel: circuit breaker closed (a call was placed)."
    assert sum(times_logged(closed, log) for log in logs) == 1
    assert breaker.state("pitel").state == breaker.CLOSED
    assert_one_signal_chain(signal_counts, final(stack, first + second + third))
