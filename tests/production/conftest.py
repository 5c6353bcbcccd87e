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
  all on the same PostgreSQL and Redis; ``stack.clean`` resets it between tests.
- ``signal_counts``: signals fired in any process, counted per call (the ``signal_log`` app of the
  example project stores each one as a row).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from django.conf import settings
from django.test import override_settings

from .servers import (
    HOST,
    PostgresServer,
    RedisServer,
    child_pids,
    free_port,
    stop_process,
    wait_for_port,
)

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE_PROJECT = ROOT / "example_project"
TEST_DATABASE = "test_voiceotp"

#: Delivery settings of every process of the stack: short delays so faults play out in seconds.
#: The lease of a send attempt is ``4 * sum(TIMEOUT) + 30`` s (services.send_lease): 40 s here.
STACK_VOICEOTP = {
    "TIMEOUT": [0.5, 2.0],
    "SEND_MAX_RETRIES": 4,
    "SEND_RETRY_BACKOFF": 0.5,
    "SEND_RETRY_BACKOFF_MAX": 4,
    "PENDING_GRACE": 8,
    "POLL_SCHEDULE": [1, 2, 3, 5, 8, 13],
}
SWEEP_INTERVAL = 1.0
GUNICORN_WORKERS = 4
CELERY_WORKERS = 2  # processes, each ``-c 2``


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


class SandboxServer:
    """``python -m django_voiceotp.sandbox`` on a free port; stop() and start() keep the port."""

    def __init__(self, log: Path) -> None:
        self.log = log
        self.port = free_port()
        self.url = f"http://{HOST}:{self.port}/"
        self.process: subprocess.Popen | None = None

    def start(self) -> SandboxServer:
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "django_voiceotp.sandbox", "--port", str(self.port)],
                cwd=ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,  # a line per request: kept out of the test output
            )
        wait_for_port(self.port, process=self.process)
        return self

    def stop(self) -> None:
        stop_process(self.process)
        self.process = None

    def api(self, method: str, path: str, **kwargs) -> requests.Response:
        response = requests.request(method, f"{self.url}_sandbox/{path}", timeout=10, **kwargs)
        response.raise_for_status()
        return response

    def reset(self, **config) -> None:
        self.api("POST", "reset")
        if config:
            self.api("POST", "config", json=config)

    def inject(self, kind: str, **params) -> None:
        self.api("POST", "faults", json={"kind": kind, **params})

    def request_counts(self) -> dict[str, int]:
        return self.api("GET", "requests").json()["counts"]

    def calls(self) -> list[dict]:
        return self.api("GET", "calls").json()


class Stack:
    """The deployment under test: sandbox, gunicorn, Celery workers and beat, one database."""

    def __init__(
        self, *, sandbox: SandboxServer, redis: RedisServer, database_url: str, logs: Path
    ):
        self.sandbox = sandbox
        self.redis = redis
        self.logs = logs
        self.web_port = free_port()
        self.web_url = f"http://{HOST}:{self.web_port}"
        self.voiceotp = {
            **settings.VOICEOTP,
            **STACK_VOICEOTP,
            "API_URL": sandbox.url,
            "CALLBACK_BASE_URL": self.web_url,
        }
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "example_project.settings",
            "PYTHONPATH": os.pathsep.join([str(EXAMPLE_PROJECT), str(ROOT)]),
            "DJANGO_DEBUG": "0",
            "DATABASE_URL": database_url,
            "CACHE_URL": redis.url(1),
            "CELERY_BROKER_URL": redis.url(0),
            "CELERY_TASK_ALWAYS_EAGER": "0",
            "VOICEOTP_API_URL": sandbox.url,
            "VOICEOTP_CALLBACK_BASE_URL": self.web_url,
            "VOICEOTP_OPTIONS": json.dumps(STACK_VOICEOTP),
            "VOICEOTP_SWEEP_INTERVAL": str(SWEEP_INTERVAL),
        }
        self.web: subprocess.Popen | None = None
        self.workers: list[subprocess.Popen] = []
        self.beat: subprocess.Popen | None = None

    # -- processes -----------------------------------------------------------------------------

    def _spawn(self, name: str, *args: str) -> subprocess.Popen:
        log = open(self.logs / f"{name}.log", "ab")  # noqa: SIM115 - the child owns it
        try:
            return subprocess.Popen(
                [sys.executable, "-m", *args],
                cwd=EXAMPLE_PROJECT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: stopped with all its children
            )
        finally:
            log.close()

    def start(self) -> Stack:
        self.web = self._spawn(
            "gunicorn",
            "gunicorn",
            "example_project.wsgi:application",
            f"--bind={HOST}:{self.web_port}",
            f"--workers={GUNICORN_WORKERS}",
            "--backlog=2048",
            "--timeout=60",
        )
        for index in range(CELERY_WORKERS):
            self.workers.append(self._start_worker(index))
        self.beat = self._spawn(
            "beat",
            "celery",
            "--app=example_project",
            "beat",
            "--loglevel=INFO",
            f"--schedule={self.logs / 'beat-schedule'}",
            f"--pidfile={self.logs / 'beat.pid'}",
        )
        wait_for_port(self.web_port, process=self.web)
        for index, worker in enumerate(self.workers):
            self._wait_for_log(f"worker{index}", " ready.", worker)
        return self

    def _start_worker(self, index: int) -> subprocess.Popen:
        return self._spawn(
            f"worker{index}",
            "celery",
            "--app=example_project",
            "worker",
            "--pool=prefork",
            "--concurrency=2",
            f"--hostname=worker{index}@%h",
            "--loglevel=INFO",
            "--without-gossip",
            "--without-mingle",
        )

    def _wait_for_log(self, name: str, text: str, process: subprocess.Popen, timeout=60) -> None:
        path = self.logs / f"{name}.log"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"{name} exited at start-up; see {path}")
            if text in path.read_text(errors="replace"):
                return
            time.sleep(0.1)
        raise TimeoutError(f"{name} did not log {text!r} in {timeout} s; see {path}")

    def stop(self) -> None:
        for process in [self.beat, self.web, *self.workers]:
            stop_process(process, timeout=20, group=True)

    def worker_pool_pids(self) -> list[int]:
        """The pool processes of every worker: the ones that run tasks."""
        return [pid for worker in self.workers for pid in child_pids(worker.pid)]

    # -- between tests -------------------------------------------------------------------------

    def clean(self, **sandbox_config) -> None:
        """A fresh sandbox, no queued tasks; pytest-django empties the tables after each test."""
        from celery import current_app

        current_app.control.purge()
        self.sandbox.reset(**sandbox_config)

    # -- observing -----------------------------------------------------------------------------

    def wait_until_final(self, call_ids, timeout: float = 120) -> list:
        """Wait (bounded) until every call is final; returns the calls still not final."""
        from django_voiceotp.models import Call

        return wait_for(
            lambda: list(
                Call.objects.filter(pk__in=call_ids)
                .exclude(status__in=Call.FINAL_STATUSES)
                .values_list("pk", "status")
            ),
            timeout,
        )

    def wait_for_callbacks(self, expected_per_call: int = 1, timeout: float = 60) -> list:
        """Wait until the sandbox has posted its callbacks; returns the calls still owing some."""
        return wait_for(
            lambda: [
                call["call_id"]
                for call in self.sandbox.calls()
                if len(call["callback_responses"]) < expected_per_call
            ],
            timeout,
        )


def wait_for(pending, timeout: float, interval: float = 0.25):
    """Call ``pending()`` until it returns nothing or ``timeout`` passes; return its last answer."""
    deadline = time.monotonic() + timeout
    while True:
        left = pending()
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(interval)


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
def stack(stack_session):
    """The running deployment, cleaned for this test, with the test process configured alike."""
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
