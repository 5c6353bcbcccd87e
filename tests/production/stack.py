"""The deployment the production tier runs: sandbox, gunicorn, Celery workers and beat.

Used by the tier's fixtures (``conftest.py``) and by the benchmarks (``benchmarks/``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import requests
from django.conf import settings

from .servers import HOST, RedisServer, child_pids, free_port, stop_process, wait_for_port

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE_PROJECT = ROOT / "example_project"
TEST_DATABASE = "test_voiceotp"

#: Delivery settings of every process of the stack: short delays so faults play out in seconds.
#: The read timeout is a third of the default's 15 s, not shorter: the sandbox shares two cores
#: with the workers, PostgreSQL, Redis, gunicorn and the load, and under a burst it answered a
#: few call requests past 2 s; an answer that comes after the read timeout is retried (the call
#: placed twice, as with a real provider that slow), which is not what a burst scenario tests.
#: The lease of a send attempt is ``4 * sum(TIMEOUT) + 30`` s (claims.send_lease): 52 s here.
STACK_VOICEOTP = {
    "TIMEOUT": [0.5, 5.0],
    "SEND_MAX_RETRIES": 4,
    "SEND_RETRY_BACKOFF": 0.5,
    "SEND_RETRY_BACKOFF_MAX": 4,
    "PENDING_GRACE": 8,
    "POLL_SCHEDULE": [1, 2, 3, 5, 8, 13],
    # The example project redials once; these scenarios count one call per send.
    "REDIAL_MAX": 0,
}
SWEEP_INTERVAL = 1.0
GUNICORN_WORKERS = 4
CELERY_WORKERS = 2  # processes, each ``-c 2``


@dataclass(frozen=True)
class WorkerPool:
    """How the stack runs its Celery workers: ``processes`` of ``-P pool -c concurrency``."""

    pool: str = "prefork"
    concurrency: int = 2
    processes: int = CELERY_WORKERS

    @property
    def database_pool_size(self) -> int:
        """docs/production.rst's advice: a connection per thread, pooled, for the threads pool;
        none for prefork, whose pool Celery closes after every task."""
        return self.concurrency if self.pool == "threads" else 0

    def __str__(self) -> str:
        many = f"{self.processes} x " if self.processes > 1 else ""
        return f"{many}-P {self.pool} -c {self.concurrency}"


#: The pools the tier proves the app safe in: prefork, and the threads pool docs/production.rst
#: recommends ("The processes"): a process per core, whose threads share one session and one
#: token, and hold a pooled database connection each.
PREFORK = WorkerPool()
THREADS = WorkerPool(pool="threads", concurrency=32, processes=2)
WORKER_POOLS = (PREFORK, THREADS)


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
        self,
        *,
        sandbox: SandboxServer,
        redis: RedisServer,
        database_url: str,
        logs: Path,
        record_signals: bool = True,
        web_workers: int = GUNICORN_WORKERS,
        voiceotp_options: dict | None = None,
        sweep_interval: float = SWEEP_INTERVAL,
        worker_pool: WorkerPool = PREFORK,
    ):
        self.web_workers = web_workers
        self.worker_pool = worker_pool
        options = STACK_VOICEOTP if voiceotp_options is None else voiceotp_options
        self.sandbox = sandbox
        self.redis = redis
        self.logs = logs
        self.web_port = free_port()
        self.web_url = f"http://{HOST}:{self.web_port}"
        self.voiceotp = {
            **settings.VOICEOTP,
            **options,
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
            "VOICEOTP_OPTIONS": json.dumps(options),
            "VOICEOTP_SWEEP_INTERVAL": str(sweep_interval),
            # The project's URLs and the bare view the callback benchmark measures against.
            "DJANGO_ROOT_URLCONF": "example_project.bench_urls",
            # The signal_log app stores each signal as a row, for the tests to count.
            "SIGNAL_LOG": "1" if record_signals else "0",
        }
        self.web: subprocess.Popen | None = None
        self.workers: list[subprocess.Popen] = []
        self.beat: subprocess.Popen | None = None
        self._log_starts: dict[str, int] = {}

    # -- processes -----------------------------------------------------------------------------

    def _spawn(self, name: str, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen:
        log = open(self.logs / f"{name}.log", "ab")  # noqa: SIM115 - the child owns it
        # Where this run's lines start: a restarted process appends to the same log.
        self._log_starts[name] = log.tell()
        try:
            return subprocess.Popen(
                [sys.executable, "-m", *args],
                cwd=EXAMPLE_PROJECT,
                env={**self.env, **(env or {})},
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: stopped with all its children
            )
        finally:
            log.close()

    def start(self) -> Stack:
        self._start_web()
        self._start_workers()
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
        self._wait_for_workers()
        return self

    def _start_web(self) -> None:
        self.web = self._spawn(
            "gunicorn",
            "gunicorn",
            "example_project.wsgi:application",
            f"--bind={HOST}:{self.web_port}",
            f"--workers={self.web_workers}",
            "--backlog=2048",
            "--timeout=60",
            "--no-control-socket",  # gunicorn 27 would put one in $HOME, shared by every run
        )

    @property
    def voiceotp_options(self) -> dict:
        """The ``VOICEOTP`` options every process of the stack runs with now."""
        return json.loads(self.env["VOICEOTP_OPTIONS"])

    def reconfigure(self, voiceotp_options: dict) -> None:
        """Run gunicorn and the workers again with other ``VOICEOTP`` options (more providers,
        say); beat, which only schedules the sweeper, keeps running. The test process must use
        ``self.voiceotp`` too (the ``stack`` fixture does)."""
        stop_process(self.web, timeout=20, group=True)
        for worker in self.workers:
            stop_process(worker, timeout=20, group=True)
        self.env["VOICEOTP_OPTIONS"] = json.dumps(voiceotp_options)
        self.voiceotp = {
            **settings.VOICEOTP,
            **voiceotp_options,
            "API_URL": self.sandbox.url,
            "CALLBACK_BASE_URL": self.web_url,
        }
        self._start_web()
        self._start_workers()
        wait_for_port(self.web_port, process=self.web)
        self._wait_for_workers()

    def worker_log(self, index: int) -> str:
        """What worker ``index`` logged since it last started."""
        with open(self.logs / f"worker{index}.log", "rb") as log:
            log.seek(self._log_starts.get(f"worker{index}", 0))
            return log.read().decode(errors="replace")

    def _start_workers(self) -> None:
        self.workers = [self._start_worker(index) for index in range(self.worker_pool.processes)]

    def _wait_for_workers(self) -> None:
        for index, worker in enumerate(self.workers):
            self._wait_for_log(f"worker{index}", " ready.", worker)

    def use_workers(self, worker_pool: WorkerPool) -> None:
        """Replace the running workers by ``worker_pool``'s (no-op when they already are)."""
        if worker_pool == self.worker_pool and all(w.poll() is None for w in self.workers):
            return
        for worker in self.workers:
            stop_process(worker, timeout=20, group=True)
        self.worker_pool = worker_pool
        self._start_workers()
        self._wait_for_workers()

    def restart_worker(self, index: int) -> None:
        """Start worker ``index`` again after it was killed (a threads worker has no parent
        process to replace what died)."""
        stop_process(self.workers[index], group=True)
        self.workers[index] = self._start_worker(index)
        self._wait_for_log(f"worker{index}", " ready.", self.workers[index])

    def _start_worker(self, index: int) -> subprocess.Popen:
        return self._spawn(
            f"worker{index}",
            "celery",
            "--app=example_project",
            "worker",
            f"--pool={self.worker_pool.pool}",
            f"--concurrency={self.worker_pool.concurrency}",
            f"--hostname=worker{index}@%h",
            "--loglevel=INFO",
            "--without-gossip",
            "--without-mingle",
            "--include=example_project.bench_tasks",  # the benchmark's bare task
            env={"DATABASE_POOL_SIZE": str(self.worker_pool.database_pool_size)},
        )

    def _wait_for_log(self, name: str, text: str, process: subprocess.Popen, timeout=60) -> None:
        path = self.logs / f"{name}.log"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"{name} exited at start-up; see {path}")
            with open(path, "rb") as log:
                log.seek(self._log_starts.get(name, 0))
                if text.encode() in log.read():
                    return
            time.sleep(0.1)
        raise TimeoutError(f"{name} did not log {text!r} in {timeout} s; see {path}")

    def stop(self) -> None:
        for process in [self.beat, self.web, *self.workers]:
            stop_process(process, timeout=20, group=True)

    def worker_pool_pids(self) -> list[int]:
        """The processes that run tasks: each worker's pool processes, or with the threads pool
        the workers themselves."""
        if self.worker_pool.pool == "threads":
            return [worker.pid for worker in self.workers]
        return [pid for worker in self.workers for pid in child_pids(worker.pid)]

    # -- between tests -------------------------------------------------------------------------

    def clean(self, **sandbox_config) -> None:
        """A fresh sandbox, no queued tasks; pytest-django empties the tables after each test."""
        from celery import current_app

        current_app.control.purge()
        self.sandbox.reset(**sandbox_config)

    # -- observing -----------------------------------------------------------------------------

    def worker_log_ends(self) -> dict[int, int]:
        """Where each worker's log ends now: ``tasks_received`` counts from there."""
        return {
            index: (self.logs / f"worker{index}.log").stat().st_size
            for index in range(len(self.workers))
        }

    def tasks_received(self, task: str, since: dict[int, int]) -> int:
        """How many ``task`` the workers have received since ``since`` (Celery's INFO line)."""
        received = 0
        for index, start in since.items():
            with open(self.logs / f"worker{index}.log", "rb") as log:
                log.seek(start)
                lines = log.read().decode(errors="replace").splitlines()
            received += sum(f"Task {task}[" in line and "] received" in line for line in lines)
        return received

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


#: Figures the scenarios measure, printed at the end of the session (and in test-artifacts/).
METRICS: dict[str, dict] = {}


def post_concurrently(specs: list[dict], concurrency: int, workdir: Path) -> dict:
    """Post ``specs`` from a second process (``loadgen``), ``concurrency`` at a time."""
    requests_file = workdir / "requests.json"
    requests_file.write_text(json.dumps(specs))
    completed = subprocess.run(
        [sys.executable, "-m", "tests.production.loadgen", str(requests_file)]
        + [f"--concurrency={concurrency}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    return json.loads(completed.stdout)


def wait_for(pending, timeout: float, interval: float = 0.25):
    """Call ``pending()`` until it returns nothing or ``timeout`` passes; return its last answer."""
    deadline = time.monotonic() + timeout
    while True:
        left = pending()
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(interval)
