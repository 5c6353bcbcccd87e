"""docs/tasks.rst, built as a new user would: ``startproject``, then the page's blocks in order.

No Celery is configured. The page's processes run as written: ``runserver`` (which serves the
sandbox and receives its callbacks), a ``db_worker`` of django-tasks-db and ``voiceotp_sweep
--every``. A code sent from ``manage.py shell`` is placed once by the worker, reported back by
callback, and the sweeper stops cleanly on SIGTERM.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess

import pytest

from .recipes import DOCS, Project, command_lines, marked_blocks, unmarked_blocks, user_env

PAGE = DOCS / "tasks.rst"


def page_processes() -> list[str]:
    """The page's long-running commands: the worker and the sweeper."""
    [block] = [
        block
        for block in marked_blocks(PAGE.read_text())
        if block.action == "not-run" and "voiceotp_sweep --every" in block.code
    ]
    return [line.split("#")[0].strip() for line in command_lines(block.code)]


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    built = Project(tmp_path_factory.mktemp("tasks"), env=user_env())
    built.build(marked_blocks(PAGE.read_text()))
    processes = []
    for number, line in enumerate(page_processes()):
        log = (built.root / f"process-{number}.log").open("w")
        processes.append(
            subprocess.Popen(
                ["sh", "-c", "exec " + line],
                cwd=built.root,
                env=built.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        )
    built.processes = processes
    yield built
    for process in processes:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)  # with the reloader's child, if DEBUG made one
            process.wait(timeout=30)
    built.stop()


def test_every_block_of_the_page_is_marked():
    text = PAGE.read_text()
    assert unmarked_blocks(text) == []
    assert page_processes() == [
        "python manage.py db_worker",
        "python manage.py voiceotp_sweep --every 30",
    ]


def test_the_tasks_extra_brings_the_backport():
    import configparser

    from .recipes import ROOT

    config = configparser.ConfigParser()
    config.read(ROOT / "setup.cfg")
    assert config["options.extras_require"]["tasks"].split() == ["django-tasks>=0.12"]
    assert 'pip install "django-voiceotp[tasks]" django-tasks-db' in PAGE.read_text()


def test_nothing_of_celery_is_configured(project):
    assert not (project.root / "mysite" / "celery.py").exists()
    assert "CELERY" not in (project.root / "mysite" / "settings.py").read_text()
    assert "celery" not in (project.root / "mysite" / "__init__.py").read_text()


def test_the_settings_pass_every_check_with_no_warning_of_celery(project):
    checked = project.manage("check")
    assert "System check identified no issues (0 silenced)." in checked.stdout, (
        checked.stdout + checked.stderr
    )


def test_a_code_is_placed_by_the_worker_and_reported_back_by_callback(project):
    [send] = project.codes("shell")
    outcome = project.shell(
        send + "import json, time\n"
        "from django_voiceotp.dispatch import get_dispatcher\n"
        "deadline = time.monotonic() + 60\n"
        "while call.status not in ('success', 'failed') and time.monotonic() < deadline:\n"
        "    time.sleep(0.2)\n"
        "    call.refresh_from_db()\n"
        "events = [event.verdict for event in call.callback_events.all()]\n"
        "print(json.dumps([type(get_dispatcher()).__name__, call.status, events]))\n"
    )
    printed, last = outcome.strip().splitlines()[-2:]
    assert printed == "pending"
    dispatcher, status, events = json.loads(last)
    assert (dispatcher, status, events) == ("DjangoTasksDispatcher", "success", ["applied"])
    # The worker ran the send: it is on record as a task of the backend, run once.
    tasks = project.shell(
        "from django_tasks_db.models import DBTaskResult\n"
        "print(list(DBTaskResult.objects.values_list('task_path', 'status')))\n"
    )
    assert tasks.strip() == "[('django_voiceotp.dispatch.django.send_call', 'SUCCESSFUL')]"
    # The sandbox was called once.
    placed = project.shell(
        "import requests\n"
        f"calls = requests.get('http://{project.address}/sandbox/_sandbox/calls', timeout=5)\n"
        "print(len(calls.json()))\n"
    )
    assert placed.strip() == "1"


def test_the_sweeper_sweeps_and_stops_cleanly_on_sigterm(project):
    worker, sweeper = project.processes
    assert worker.poll() is None and sweeper.poll() is None
    sweeper.send_signal(signal.SIGTERM)
    assert sweeper.wait(timeout=30) == 0
    log = (project.root / "process-1.log").read_text()
    assert "Swept: " in log  # its first sweep runs at once
    assert log.endswith("Sweeper stopped.\n")
    assert "Traceback" not in log
