"""Without Celery: ``VOICEOTP["DISPATCHER"] = "django"`` on django-tasks-db, every process real.

Each scenario runs on a SQLite file and on PostgreSQL (``tasks_stack``): gunicorn for the
callbacks, two ``db_worker`` processes, ``voiceotp_sweep --every 1`` as the sweeper, the sandbox.

What django-tasks-db does with the task of a worker that dies: nothing. The row stays
``RUNNING`` and no worker takes it again (it has no lease or heartbeat). The call it held is
brought back by the sweeper, once the send's lease has passed (``test_a_killed_worker…``).
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter

import pytest

from .stack import ROOT, wait_for
from .tasks_stack import TASKS_VOICEOTP, TasksStack, create_postgres_database
from .test_burst import expected_outcome, final_signal_chain

BURST = 200
DUPLICATED = 60
#: Longest a killed send waits: its lease (claims.send_lease), then the sweeper's round.
LEASE_WAIT = 4 * sum(TASKS_VOICEOTP["TIMEOUT"]) + 30 + 30


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def tasks_stack(request, sandbox_server, redis_server, tmp_path_factory):
    logs = tmp_path_factory.mktemp(f"tasks-{request.param}")
    if request.param == "sqlite":
        database_url = f"sqlite://{logs / 'db.sqlite3'}"
    else:
        port = request.getfixturevalue("postgres_server").port
        database_url = create_postgres_database(port, "tasks_voiceotp")
    # A Redis database of its own for the cache, apart from the Celery stack's 0 and 1.
    cache_url = redis_server.url(3 if request.param == "sqlite" else 4)
    stack = TasksStack(
        sandbox=sandbox_server, cache_url=cache_url, database_url=database_url, logs=logs
    )
    try:
        yield stack.start()
    finally:
        stack.stop()


@pytest.fixture
def tasks(tasks_stack):
    tasks_stack.clean()
    return tasks_stack


def assert_delivered_once(tasks: TasksStack, call_ids: list[int], placements: int | None = None):
    """Every call final with the sandbox's verdict for its number, placed once (``placements``
    requests in all), every signal fired once; answers the report."""
    assert tasks.driver("wait", call_ids=call_ids, timeout=LEASE_WAIT) == []
    assert wait_for(_callbacks_owed(tasks), 60) == []
    found = tasks.driver("report", call_ids=call_ids)
    calls = found["calls"].values()
    assert len(calls) == len(call_ids)
    for call in calls:
        status, reason = expected_outcome(call["phone_number"])
        assert (call["status"], call["failure_reason"], call["otp_erased"]) == (
            status,
            reason,
            True,
        ), call
    counts = tasks.sandbox.request_counts()
    assert counts["voiceotp"] == (len(call_ids) if placements is None else placements)
    placed = {placed["call_id"] for placed in tasks.sandbox.calls()}
    assert placed == {call["provider_call_id"] for call in calls}
    assert len(tasks.sandbox.calls()) == len(call_ids)
    for pk, call in found["calls"].items():
        fired = {tuple(key): count for *key, count in found["signals"][pk]}
        assert set(fired.values()) == {1}, (call, fired)
        assert set(fired) in final_signal_chain(call["status"]), (call, fired)
    # Every callback gunicorn answered was answered 200: applied or known as a duplicate.
    responses = Counter(code for c in tasks.sandbox.calls() for code in c["callback_responses"])
    assert {code for code in responses if isinstance(code, int)} == {200}, responses
    return found


def _callbacks_owed(tasks: TasksStack):
    return lambda: [c["call_id"] for c in tasks.sandbox.calls() if not c["callback_responses"]]


def send_tasks(found: dict) -> list[dict]:
    return [task for task in found["tasks"] if task["job"] == "send_call"]


def report_once_sends_ran(tasks: TasksStack, call_ids: list[int]) -> dict:
    """The report once no send task of these calls waits or runs. A task published for a call a
    batch has already placed may still be queued when the call is final: it runs, finds nothing
    to do, and ends SUCCESSFUL like the others."""

    def waiting() -> list[dict]:
        found = tasks.driver("report", call_ids=call_ids)
        return [task for task in send_tasks(found) if task["status"] in ("READY", "RUNNING")]

    assert wait_for(waiting, 60) == []
    return tasks.driver("report", call_ids=call_ids)


def test_a_burst_is_placed_once_each_every_signal_once(tasks):
    call_ids = tasks.driver("send", count=BURST, prefix="077")
    assert_delivered_once(tasks, call_ids)
    found = report_once_sends_ran(tasks, call_ids)
    # The calls rode batches: a send task per batch, not per call (new calls publish none while
    # one waits or runs), each run once, by one of the workers.
    sends = send_tasks(found)
    published = [task["call_id"] for task in sends]
    assert 0 < len(published) < len(call_ids) and len(set(published)) == len(published)
    assert set(published) <= set(call_ids)
    assert {task["status"] for task in sends} == {"SUCCESSFUL"}
    assert {len(task["worker_ids"]) for task in sends} == {1}
    assert {call["send_attempts"] for call in found["calls"].values()} == {1}


def test_each_send_enqueued_three_times_places_one_call(tasks):
    call_ids = tasks.driver("send", count=DUPLICATED, prefix="079", copies=3)
    assert_delivered_once(tasks, call_ids)
    found = report_once_sends_ran(tasks, call_ids)
    sends = Counter(task["call_id"] for task in send_tasks(found))
    # Two copies of each call's send enqueued by hand, besides the one send_otp published if no
    # send task was waiting.
    assert set(sends) == set(call_ids) and set(sends.values()) <= {2, 3}
    assert {task["status"] for task in send_tasks(found)} == {"SUCCESSFUL"}
    assert {call["send_attempts"] for call in found["calls"].values()} == {1}


def test_refused_sends_are_retried_with_backoff_as_deferred_tasks(tasks):
    """The provider refuses the first 15 requests (503): each refusal is a new send task with a
    run_after (the backoff: 0.25 to 0.5 s, then doubled), until every call is placed once."""
    tasks.sandbox.inject("http_error", endpoint="voiceotp", status=503, times=15)
    call_ids = tasks.driver("send", count=10, prefix="070")
    found = assert_delivered_once(tasks, call_ids, placements=10 + 15)
    assert sum(call["send_attempts"] for call in found["calls"].values()) == 25
    deferred = [task for task in send_tasks(found) if task["deferred_by"] is not None]
    assert len(deferred) == 15
    assert all(0.2 <= task["deferred_by"] <= 4 for task in deferred), deferred
    assert {task["status"] for task in send_tasks(found)} == {"SUCCESSFUL"}


def test_a_killed_worker_loses_nothing_and_doubles_nothing(tasks):
    """SIGKILL the workers holding a task while the send waits for its token (before the call
    request), mid-burst; start others. The dead workers' rows stay RUNNING for ever; the calls
    they held are sent by the sweeper once their lease has passed: placed once each."""
    tasks.sandbox.inject("slow", endpoint="token", seconds=1.8)  # under the read timeout
    sending = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.production.tasks_driver",
            "send",
            json.dumps({"count": 20, "prefix": "076"}),
        ],
        cwd=ROOT,
        env=tasks.env,
        stdout=subprocess.PIPE,
        text=True,
    )
    # Readiness, not a measure: the token request comes within seconds of the first send.
    holding = wait_for(
        lambda: not (tasks.sandbox.request_counts()["token"] and tasks.running_task_workers()),
        60,
        interval=0.02,
    )
    assert holding is False
    killed = tasks.running_task_workers()
    for worker_id in killed:
        tasks.kill_worker(worker_id)
    assert tasks.sandbox.request_counts()["voiceotp"] == 0  # killed before the call request
    for _ in killed:
        tasks.start_worker()
    out, _ = sending.communicate(timeout=120)
    call_ids = json.loads(out.splitlines()[-1])

    found = assert_delivered_once(tasks, call_ids)
    held = [task for task in send_tasks(found) if set(task["worker_ids"]) & killed]
    assert held and {task["status"] for task in held} == {"RUNNING"}
    # The send under way (its call claimed) comes back once its lease has passed: a second
    # attempt, the one that placed the call.
    attempts = [found["calls"][str(task["call_id"])]["send_attempts"] for task in held]
    assert max(attempts) == 2
