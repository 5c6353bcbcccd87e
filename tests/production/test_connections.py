"""The workers' database connections: Celery closes them after every task, so they are pooled
(the example project's ``DATABASE_POOL_SIZE``) and a task takes one instead of opening one."""

from __future__ import annotations

import pytest

from django_voiceotp import send_otp

from .stack import GUNICORN_WORKERS, THREADS

pytestmark = pytest.mark.django_db(transaction=True)

CALLS = 150


# Only the threads pool: in prefork, Celery closes a process's pool too after every task, so a
# task opens a connection whatever the settings (docs/production.rst, "The processes").
@pytest.mark.parametrize("worker_pool", [THREADS], ids=str)
def test_tasks_reuse_pooled_connections(stack, postgres_server, worker_pool):
    opened_before = postgres_server.connections_opened()
    # This thread's connection is open already: the sends open none.
    call_ids = [send_otp(f"077{index:07d}", f"{index:06d}").pk for index in range(CALLS)]
    assert stack.wait_until_final(call_ids, timeout=120) == []
    assert stack.wait_for_callbacks() == []

    opened = postgres_server.connections_opened() - opened_before
    # At most one per thread that ran a task (each worker process's pool) and per web worker,
    # plus beat's; a connection per task would be at least one per call.
    most = worker_pool.processes * worker_pool.concurrency + GUNICORN_WORKERS + 1
    assert opened <= most < CALLS, f"{opened} connections opened for {CALLS} calls"
