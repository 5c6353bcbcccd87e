"""Fixtures of the production tier: real PostgreSQL, Redis, sandbox, gunicorn and Celery workers.

Run it on its own session (``make test`` does, after the main suite)::

    .venv/bin/pytest tests/production --ds=tests.production.settings

What every test here gets, without asking (session-wide, torn down at the end):

- ``postgres_server``: a throwaway PostgreSQL cluster (``initdb`` in a temporary directory, free
  port on 127.0.0.1, trust auth). pytest-django creates and migrates the test database
  ``test_voiceotp`` on it, so **the ORM of the test process talks to PostgreSQL**: mark a test
  ``@pytest.mark.django_db(transaction=True)`` and use models as usual. Every thread gets its own
  connection, so a test can race real transactions (``select_for_update``, guarded updates) from a
  ``ThreadPoolExecutor``; call ``django.db.connection.close()`` at the end of each thread.
  ``postgres_server.port`` and ``database_url`` give other processes the same database.
- ``redis_server``: a redis-server with no persistence; Django's cache (database 1) and Celery's
  broker (database 0) of the test process point at it.

Started only for the tests that ask (each once per session):

- ``sandbox_server``: the sandbox provider as its own process (``python -m
  django_voiceotp.sandbox``), with ``.api(...)`` to drive its ``_sandbox/`` control endpoints.
- ``stack``: the whole deployment: the sandbox, gunicorn serving the example project (several
  workers), two Celery worker processes (``-c 2``, prefork) and celery beat running the sweeper,
  all on the same PostgreSQL and Redis; ``stack.clean`` resets it between tests. A test that
  parametrizes ``worker_pool`` (``stack.WORKER_POOLS``) runs on each pool: the delivery
  scenarios run on the threads pool docs/production.rst recommends, too.
- ``signal_counts``: signals fired in any process, counted per call (the ``signal_log`` app of the
  example project stores each one as a row).
"""

from __future__ import annotations

import json

import pytest
from django.conf import settings
from django.test import override_settings

from .servers import HOST, PostgresServer, RedisServer
from .stack import METRICS, PREFORK, ROOT, TEST_DATABASE, SandboxServer, Stack, WorkerPool


@pytest.fixture(scope="session")
def postgres_server():
    server = PostgresServer().start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def redis_server():
    server = RedisServer().start()
    yield server
    server.remove()


@pytest.fixture(scope="session")
def database_url(postgres_server) -> str:
    """The test database, as ``DATABASE_URL`` for the example project's processes."""
    return f"postgresql://postgres@{HOST}:{postgres_server.port}/{TEST_DATABASE}"


@pytest.fixture(scope="session")
def django_db_modify_db_settings(postgres_server):
    """pytest-django's hook, run before it creates the test database: point it at our server.

    Changed in place: Django's connection handler holds this very dict.
    """
    settings.DATABASES["default"]["PORT"] = str(postgres_server.port)


@pytest.fixture(scope="session", autouse=True)
def _redis_settings(redis_server):
    """Point the test process's cache and Celery producer at our Redis, before either is used."""
    from celery import current_app

    cache = {**settings.CACHES["default"], "LOCATION": redis_server.url(1)}
    # override_settings, not a change in place: pytest already touched the cache while collecting,
    # and only the setting_changed signal makes Django drop that connection.
    override = override_settings(CACHES={"default": cache}, CELERY_BROKER_URL=redis_server.url(0))
    override.enable()
    current_app.conf.broker_url = redis_server.url(0)
    current_app.conf.task_always_eager = False
    yield
    override.disable()


@pytest.fixture(scope="session")
def sandbox_server(tmp_path_factory):
    server = SandboxServer(tmp_path_factory.mktemp("sandbox") / "sandbox.log").start()
    yield server
    server.stop()


def pytest_terminal_summary(terminalreporter):
    if not METRICS:
        return
    terminalreporter.section("production tier figures")
    for name, figures in METRICS.items():
        shown = ", ".join(f"{key} {value}" for key, value in figures.items())
        terminalreporter.write_line(f"{name}: {shown}")
    artifacts = ROOT / "test-artifacts"
    artifacts.mkdir(exist_ok=True)
    (artifacts / "production-metrics.json").write_text(json.dumps(METRICS, indent=2))


@pytest.fixture(scope="session")
def stack_session(sandbox_server, redis_server, database_url, django_db_setup, tmp_path_factory):
    logs = tmp_path_factory.mktemp("stack-logs")
    stack = Stack(sandbox=sandbox_server, redis=redis_server, database_url=database_url, logs=logs)
    try:
        stack.start()
        yield stack
    finally:
        stack.stop()


@pytest.fixture
def worker_pool() -> WorkerPool:
    """The workers' pool for this test: prefork, unless a test parametrizes ``worker_pool``
    (``@pytest.mark.parametrize("worker_pool", WORKER_POOLS, ids=str)``)."""
    return PREFORK


@pytest.fixture
def stack(stack_session, worker_pool):
    """The running deployment, cleaned for this test, with the test process configured alike."""
    stack_session.use_workers(worker_pool)
    stack_session.clean()
    with override_settings(VOICEOTP=stack_session.voiceotp):
        yield stack_session


@pytest.fixture
def signal_counts():
    """``signal_counts(call_ids)``: {call_id: Counter of (signal, old_status, new_status)}."""
    from collections import Counter

    from signal_log.models import SignalRecord

    def count(call_ids):
        counts = {call_id: Counter() for call_id in call_ids}
        records = SignalRecord.objects.filter(call_id__in=list(call_ids))
        for record in records.values_list("call_id", "signal", "old_status", "new_status"):
            counts[record[0]][record[1:]] += 1
        return counts

    return count
