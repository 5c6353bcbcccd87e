"""The example project's demo, started as ``make demo`` starts it, on a free port of its own."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts"
STARTUP_TIMEOUT = 90
READY = "The demo is running at "
CREDENTIALS = re.compile(r"user (?P<username>\S+), password (?P<password>\S+)\)")
# Settings the production tier may export; the demo must run as a newcomer would run it.
FOREIGN_ENV = ("DATABASE_URL", "CACHE_URL", "CELERY_BROKER_URL", "CELERY_TASK_ALWAYS_EAGER")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class DemoServer:
    """``manage.py rundemo`` in its own process group, with its own SQLite file."""

    def __init__(self, workdir: Path, options: dict | None = None) -> None:
        """``options``: ``VOICEOTP`` settings over the test defaults (no limits)."""
        self.url = f"http://127.0.0.1:{free_port()}"
        # Private to this run: another test run in the same tree must not write over it.
        self.log_path = workdir / "rundemo.log"
        env = {
            key: value
            for key, value in os.environ.items()
            if key not in FOREIGN_ENV and not key.startswith("VOICEOTP_")
        }
        env.update(
            DJANGO_SETTINGS_MODULE="example_project.settings",
            DEMO_URL=self.url,
            DEMO_DATABASE=str(workdir / "demo.sqlite3"),
            PYTHONUNBUFFERED="1",
            # The tests call the same numbers again and again; a person would be refused.
            VOICEOTP_OPTIONS=json.dumps(
                {
                    "RESEND_COOLDOWN": 0,
                    "SENDS_PER_NUMBER_PER_HOUR": 0,
                    "SENDS_PER_NUMBER_PER_DAY": 0,
                    "SENDS_PER_IP_PER_HOUR": 0,
                    **(options or {}),
                }
            ),
        )
        self.env = env
        ARTIFACTS.mkdir(exist_ok=True)
        self._log = self.log_path.open("w")
        self.process = subprocess.Popen(
            [sys.executable, "manage.py", "rundemo"],
            cwd=ROOT / "example_project",
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # one group: rundemo and the runserver it starts
        )

    def shell(self, code: str) -> str:
        """Run Python in the demo project against its database, as ``manage.py shell -c``."""
        result = subprocess.run(
            [sys.executable, "manage.py", "shell", "-c", code],
            cwd=ROOT / "example_project",
            env=self.env,
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        return result.stdout

    @property
    def output(self) -> str:
        return self.log_path.read_text()

    def wait_until_ready(self) -> None:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while time.monotonic() < deadline:
            if READY in self.output:
                return
            if self.process.poll() is not None:
                break
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"The demo did not start. Its output:\n{self.output}")

    def credentials(self) -> tuple[str, str]:
        match = CREDENTIALS.search(self.output)
        assert match, f"rundemo printed no admin credentials:\n{self.output}"
        return match["username"], match["password"]

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self._log.close()
        shutil.copyfile(self.log_path, ARTIFACTS / "demo-server.log")
