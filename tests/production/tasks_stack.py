"""The deployment of a project without Celery: Django's tasks framework with django-tasks-db.

Processes, each a real one: gunicorn serving ``tasks_settings``'s project (the callbacks),
``db_worker`` processes of django-tasks-db running the app's tasks, and ``voiceotp_sweep --every``
as the sweeper; the tier's sandbox and Redis (the shared cache). The database is a SQLite file or
a PostgreSQL database of its own, apart from the test database of the Celery stack. The test
reaches the project through ``tasks_driver`` (sends and reads, as a process of the project).
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import psycopg

from .servers import HOST, free_port, stop_process, wait_for_port
from .stack import ROOT, STACK_VOICEOTP, SandboxServer

#: The Celery stack's delivery settings (lease 52 s, backoff from 0.5 s), but a longer grace
#: before the sweeper sends a call whose task has not run: a burst queued behind two
#: single-threaded workers is not sent a second time by the sweeper meanwhile.
TASKS_VOICEOTP = {**STACK_VOICEOTP, "PENDING_GRACE": 30}
SWEEP_EVERY = 1.0
DB_WORKERS = 2
#: django-tasks-db's table of tasks (its app label is django_tasks_database).
TASK_TABLE = "django_tasks_database_dbtaskresult"


class TasksStack:
    def __init__(
        self, *, sandbox: SandboxServer, cache_url: str, database_url: str, logs: Path
    ) -> None:
        self.sandbox = sandbox
        self.database_url = database_url
        self.cache_url = cache_url
        self.logs = logs
        self.web_port = free_port()
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "tests.production.tasks_settings",
            "PYTHONPATH": str(ROOT),
            "TASKS_DATABASE": database_url,
            "CACHE_URL": cache_url,
            "VOICEOTP_API_URL": sandbox.url,
            "VOICEOTP_CALLBACK_BASE_URL": f"http://{HOST}:{self.web_port}",
            "VOICEOTP_OPTIONS": json.dumps(TASKS_VOICEOTP),
        }
        self.web: subprocess.Popen | None = None
        self.sweeper: subprocess.Popen | None = None
        #: The db_worker processes by worker id; a killed one is replaced under a new id.
        self.workers: dict[str, subprocess.Popen] = {}
        self._started = 0

    def _spawn(self, name: str, *args: str) -> subprocess.Popen:
        log = open(self.logs / f"{name}.log", "ab")  # noqa: SIM115 - the child owns it
        try:
            return subprocess.Popen(
                [sys.executable, "-m", *args],
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        finally:
            log.close()

    def start(self) -> TasksStack:
        subprocess.run(
            [sys.executable, "-m", "django", "migrate", "--verbosity=0"],
            cwd=ROOT,
            env=self.env,
            check=True,
            timeout=120,
        )
        self.web = self._spawn(
            "gunicorn",
            "gunicorn",
            "django.core.wsgi:get_wsgi_application()",
            f"--bind={HOST}:{self.web_port}",
            "--workers=2",
            "--no-control-socket",
        )
        for _ in range(DB_WORKERS):
            self.start_worker()
        self.sweeper = self._spawn("sweeper", "django", "voiceotp_sweep", f"--every={SWEEP_EVERY}")
        wait_for_port(self.web_port, process=self.web)
        return self

    def start_worker(self) -> str:
        worker_id = f"worker{self._started}"
        self._started += 1
        self.workers[worker_id] = self._spawn(
            worker_id,
            "django",
            "db_worker",
            "--interval=0.1",
            "--no-startup-delay",
            "--no-reload",
            f"--worker-id={worker_id}",
        )
        self._wait_for_log(worker_id, "Starting worker")
        return worker_id

    def kill_worker(self, worker_id: str) -> None:
        """SIGKILL: the worker dies where it stands, as in a crash or an OOM kill."""
        process = self.workers.pop(worker_id)
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)

    def _wait_for_log(self, name: str, text: str, timeout: float = 60) -> None:
        path = self.logs / f"{name}.log"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if text.encode() in path.read_bytes():
                return
            time.sleep(0.1)
        raise TimeoutError(f"{name} did not log {text!r} in {timeout} s; see {path}")

    def stop(self) -> None:
        for process in [self.sweeper, self.web, *self.workers.values()]:
            stop_process(process, timeout=20, group=True)

    def clean(self) -> None:
        """A fresh sandbox, and no token cached: the sandbox forgot the tokens it gave, and a
        cached one would cost each test a refused request (401) before its first call."""
        import redis

        self.sandbox.reset()
        with redis.Redis.from_url(self.cache_url) as cache:
            cache.flushdb()

    # -- the project, as its own processes see it ----------------------------------------------

    def driver(self, command: str, **arguments):
        completed = subprocess.run(
            [sys.executable, "-m", "tests.production.tasks_driver", command, json.dumps(arguments)],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert completed.returncode == 0, completed.stderr
        return json.loads(completed.stdout.splitlines()[-1])

    def query(self, sql: str) -> list[tuple]:
        """A read of the project's database from this process, in milliseconds (the driver takes
        a second to start): for what must be seen while it happens."""
        if self.database_url.startswith("sqlite:"):
            with sqlite3.connect(self.database_url.removeprefix("sqlite://"), timeout=30) as db:
                return db.execute(sql).fetchall()
        with psycopg.connect(self.database_url, autocommit=True) as db:
            return db.execute(sql).fetchall()

    def running_task_workers(self) -> set[str]:
        """The workers holding a task of the backend's (status RUNNING) now."""
        rows = self.query(f"SELECT worker_ids FROM {TASK_TABLE} WHERE status = 'RUNNING'")
        return {(json.loads(ids) if isinstance(ids, str) else ids)[-1] for (ids,) in rows if ids}


def create_postgres_database(port: int, name: str) -> str:
    """An empty database ``name`` on the tier's PostgreSQL; its URL."""
    with psycopg.connect(
        host=HOST, port=port, user="postgres", dbname="postgres", autocommit=True
    ) as connection:
        connection.execute(f"DROP DATABASE IF EXISTS {name}")
        connection.execute(f"CREATE DATABASE {name}")
    return f"postgresql://postgres@{HOST}:{port}/{name}"
