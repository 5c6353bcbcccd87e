"""Recipes from the docs, built as a new user would: a ``startproject`` project and its blocks.

A page marks each block a reader pastes with a reST comment right above its ``.. code-block::``::

    .. recipe: ACTION [PATH]

``append`` adds the block to a file of the new project, ``replace`` writes the file, ``production``
is a settings block checked in a settings module of its own (``mysite/production.py``, importing
``mysite.settings``), ``shell`` is code run by ``manage.py shell``, ``command`` a shell command
run in the project's folder. A block that cannot run where the tests run is marked
``.. recipe: not-run REASON``: never silently left out. README's quickstart uses the same marks
under the name ``quickstart`` (``.. quickstart: ACTION [PATH]``).

A page that starts from the quickstart's project (``mysite``, the sandbox, ``runserver`` running)
is built by :meth:`Project.build` from :func:`quickstart_blocks`, then from its own blocks, in the
order a reader follows them.

Every step is a subprocess of this venv's Python, as a user's shell would run it: no setting, Celery
app or import of the test suite reaches the project.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import textwrap
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
README = ROOT / "README.rst"
ACTIONS = "append|replace|production|shell|command|not-run"
#: The address the docs use for the development server; a test replaces it with a free port.
DOCS_ADDRESS = "127.0.0.1:8000"
#: The files of a ``startproject mysite`` project that a quickstart writes or adds to.
QUICKSTART_FILES = [
    ("append", "mysite/settings.py"),
    ("replace", "mysite/urls.py"),
    ("replace", "mysite/celery.py"),
    ("replace", "mysite/__init__.py"),
]


@dataclass
class Block:
    action: str
    path: str | None
    code: str
    line: int


def marked_blocks(text: str, mark: str = "recipe") -> list[Block]:
    """The marked blocks, in page order: the mark, then ``.. code-block::``, then the code."""
    marker = re.compile(rf"^\.\. {mark}: (?P<action>{ACTIONS})(?: (?P<path>.+))?$")
    lines = text.splitlines()
    blocks = []
    for number, line in enumerate(lines):
        match = marker.match(line)
        if not match:
            continue
        assert lines[number + 1].startswith(".. code-block:: "), f"line {number + 2}: no block"
        body = []
        for body_line in lines[number + 2 :]:
            if body_line and not body_line.startswith(" "):
                break
            body.append(body_line)
        code = textwrap.dedent("\n".join(body)).strip("\n") + "\n"
        blocks.append(Block(match["action"], match["path"], code, number + 1))
    return blocks


def unmarked_blocks(text: str, mark: str = "recipe") -> list[int]:
    """Line numbers of ``.. code-block::`` directives with no mark above them."""
    lines = text.splitlines()
    return [
        number + 1
        for number, line in enumerate(lines)
        if line.startswith(".. code-block:: ")
        and not (number and lines[number - 1].startswith(f".. {mark}: "))
    ]


def quickstart_blocks() -> list[Block]:
    """README's quickstart up to its first shell session: its files, and its commands (create the
    tables, start the development server, check the set-up from a second terminal)."""
    blocks = []
    for block in marked_blocks(README.read_text(), mark="quickstart"):
        if block.action == "shell":
            break
        blocks.append(block)
    return blocks


def command_lines(code: str) -> list[str]:
    """The lines of a ``command`` block a shell runs: not blank, not a comment."""
    return [
        line for line in code.splitlines() if line.strip() and not line.lstrip().startswith("#")
    ]


def starts_the_server(block: Block) -> bool:
    """A page's ``runserver`` step: marked not-run (it serves until stopped), the test starts
    the server there itself, on the project's own port."""
    return block.action == "not-run" and "manage.py runserver" in block.code


def user_env() -> dict[str, str]:
    """A shell with this virtualenv activated: its python, celery and gunicorn come first."""
    return {"PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}


def build_after_quickstart(root: Path, page: Path) -> Project:
    """The quickstart's project as a reader leaves it (``runserver`` running), then ``page``'s
    steps in order; the server serves what they wrote."""
    project = Project(root, env=user_env())
    project.build(quickstart_blocks())
    project.build(marked_blocks(page.read_text()))
    project.restart_if_stale()
    return project


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Project:
    """A ``startproject mysite`` project in ``root``, driven through manage.py with this venv's
    Python and nothing of the test suite's environment."""

    def __init__(self, root: Path, env: dict[str, str] | None = None):
        self.root = root
        self.port = free_port()
        self.address = f"127.0.0.1:{self.port}"
        # What a user's shell would have: no DJANGO_SETTINGS_MODULE from this suite, no CI switches.
        self.env = {"PATH": os.environ["PATH"], "HOME": str(root), "PYTHONDONTWRITEBYTECODE": "1"}
        self.env.update(env or {})
        self.server: subprocess.Popen | None = None
        #: A file was written since the server started: it serves the old code.
        self.server_is_stale = False
        self.blocks: list[Block] = []
        subprocess.run(
            [sys.executable, "-m", "django", "startproject", "mysite", str(root)],
            env=self.env,
            check=True,
            timeout=60,
        )

    def build(self, blocks: list[Block], env: dict[str, str] | None = None) -> None:
        """Follow ``blocks`` in page order, as a reader does: write each file, run each command
        (a shell a line, in the project's folder), and start the development server where the
        page starts it. A file written while it serves restarts it before the next command, as
        runserver's reloader would (deterministically: the test's server does not reload)."""
        for block in blocks:
            self.apply([block])
            if block.action == "command":
                self.restart_if_stale(env)
                for line in command_lines(self.localise(block.code)):
                    self.run("sh", "-c", line, env=env)
            elif starts_the_server(block) and self.server is None:
                self.start_server(env)
                self.wait_until_serving()

    def restart_if_stale(self, env: dict[str, str] | None = None) -> None:
        if self.server is not None and self.server_is_stale:
            self.stop()
            self.start_server(env)
            self.wait_until_serving()

    def apply(self, blocks: list[Block]) -> None:
        """Write the file blocks into the project, the docs' address replaced by this one's."""
        for block in blocks:
            self.blocks.append(block)
            if block.action in ("append", "replace", "production") and self.server is not None:
                self.server_is_stale = True
            code = self.localise(block.code)
            if block.action == "append":
                with (self.root / block.path).open("a") as file:
                    file.write("\n" + code)
            elif block.action == "replace":
                path = self.root / block.path
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(code)
            elif block.action == "production":
                (self.root / "mysite" / "production.py").write_text(
                    "from mysite.settings import *  # noqa: F403\n\n" + code
                )

    def localise(self, code: str) -> str:
        return code.replace(DOCS_ADDRESS, self.address)

    def codes(self, action: str) -> list[str]:
        return [self.localise(block.code) for block in self.blocks if block.action == action]

    def run(self, *command: str, env: dict[str, str] | None = None, check=True, timeout=120):
        result = subprocess.run(
            command,
            cwd=self.root,
            env={**self.env, **(env or {})},
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if check:
            assert result.returncode == 0, f"{command}:\n{result.stdout}{result.stderr}"
        return result

    def manage(self, *args: str, env: dict[str, str] | None = None, check: bool = True):
        return self.run(sys.executable, "manage.py", *args, env=env, check=check, timeout=60)

    def shell(self, code: str, env: dict[str, str] | None = None) -> str:
        # Verbosity 0: without the line on the objects the shell imported by itself.
        return self.manage("shell", "--verbosity=0", "-c", code, env=env).stdout

    def start_server(self, env: dict[str, str] | None = None) -> None:
        # Appended to: a restarted server's log follows the first one's.
        self.server_log = (self.root / "runserver.log").open("a")
        self.server_is_stale = False
        self.server = subprocess.Popen(
            [sys.executable, "manage.py", "runserver", "--noreload", self.address],
            cwd=self.root,
            env={**self.env, **(env or {})},
            stdout=self.server_log,
            stderr=subprocess.STDOUT,
        )

    def wait_until_serving(self, path: str = "/admin/login/") -> None:
        """Readiness, not a measure: the server has up to 30 s to answer once."""
        assert self.server is not None
        deadline = time.monotonic() + 30
        while True:
            assert self.server.poll() is None, (self.root / "runserver.log").read_text()
            try:
                with urllib.request.urlopen(f"http://{self.address}{path}"):
                    return
            except urllib.error.HTTPError:
                return  # it answered
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)

    def stop(self) -> None:
        if self.server is not None:
            self.server.terminate()
            self.server.wait(timeout=30)
            self.server_log.close()
            self.server = None
