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

import subprocess
import sys
from pathlib import Path

import pytest
import requests
from django.conf import settings
from django.test import override_settings

from .servers import HOST, PostgresServer, RedisServer, free_port, stop_process, wait_for_port

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
def sandbox_server():
    server = SandboxServer().start()
    yield server
    server.stop()


class SandboxServer:
    """``python -m django_voiceotp.sandbox`` on a free port; stop() and start() keep the port."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"http://{HOST}:{self.port}/"
        self.process: subprocess.Popen | None = None

    def start(self) -> SandboxServer:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "django_voiceotp.sandbox", "--port", str(self.port)],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
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
