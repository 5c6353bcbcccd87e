"""docs/production.rst, built as a new user would: the quickstart's project, then the page's steps.

The project runs on this tier's throwaway PostgreSQL and Redis with the page's settings, exported
as the page says; its commands run as written (``check --deploy``, ``migrate``, gunicorn, two
threads workers with their own names, beat, ``inspect ping``). A code is then requested, placed by
a worker through the sandbox, reported back by callback to gunicorn and verified; the processes
are stopped at the end and the workers must stop cleanly.
"""

from __future__ import annotations

import json
import re
import subprocess
import time
from dataclasses import dataclass

import psycopg
import pytest

from django_voiceotp.sandbox import CAMPAIGN_ID, SECRET_KEY

from ..recipes import (
    DOCS,
    ROOT,
    Project,
    command_lines,
    marked_blocks,
    quickstart_blocks,
    unmarked_blocks,
    user_env,
)
from .servers import HOST, stop_process, wait_for_port

PAGE = DOCS / "production.rst"
DATABASE = "recipe_production"
PHONE = "0771122345"
#: What the page's gunicorn binds to; the test's own free port instead.
DOCS_BIND = "0.0.0.0:8000"


@dataclass
class Running:
    #: The page's long-running commands (gunicorn, the workers, beat), started in its order.
    processes: list[subprocess.Popen]
    #: The command that asks every worker to answer.
    ping: str
    #: What the commands that end (check --deploy, migrate) printed.
    finished: list[subprocess.CompletedProcess]


def exported_names(text: str) -> set[str]:
    """The variables the page's ``export`` block names."""
    block = next(block for block in marked_blocks(text) if "export " in block.code)
    return set(re.findall(r"\b([A-Z][A-Z0-9_]*)=", block.code))


@pytest.fixture(scope="module")
def environment(postgres_server, redis_server, sandbox_server, tmp_path_factory):
    """The page's variables, with this tier's servers for values, and an empty database."""
    with psycopg.connect(
        host=HOST, port=postgres_server.port, user="postgres", dbname="postgres", autocommit=True
    ) as connection:
        connection.execute(f"DROP DATABASE IF EXISTS {DATABASE}")
        connection.execute(f"CREATE DATABASE {DATABASE}")
    return {
        "DJANGO_SETTINGS_MODULE": "mysite.production",
        "DJANGO_SECRET_KEY": "recipe-" + "x" * 50,
        "DJANGO_ALLOWED_HOSTS": HOST,
        "POSTGRES_HOST": HOST,
        "POSTGRES_PORT": str(postgres_server.port),
        "POSTGRES_DB": DATABASE,
        "POSTGRES_USER": "postgres",
        "POSTGRES_PASSWORD": "",
        # Databases of their own on the tier's Redis, apart from the stack's 0 and 1.
        "REDIS_CACHE_URL": redis_server.url(6),
        "CELERY_BROKER_URL": redis_server.url(5),
        "VOICEOTP_API_URL": sandbox_server.url,
        "VOICEOTP_SECRET_KEY": SECRET_KEY,
        "VOICEOTP_CAMPAIGN": CAMPAIGN_ID,
        # Set from the project's port below.
        "VOICEOTP_CALLBACK_BASE_URL": "",
    }


@pytest.fixture(scope="module")
def project(environment, tmp_path_factory):
    """The quickstart's project as a reader leaves it (SQLite, the sandbox, checked while
    runserver served), then, the server stopped and the page's variables exported, its files."""
    built = Project(tmp_path_factory.mktemp("production"), env=user_env())
    built.build(quickstart_blocks())
    built.stop()
    environment["VOICEOTP_CALLBACK_BASE_URL"] = f"http://{built.address}"
    built.env.update(environment)
    built.apply(marked_blocks(PAGE.read_text()))
    return built


@pytest.fixture(scope="module")
def running(project):
    """The page's commands in order: those that end are run, those that serve are started."""
    check_and_migrate, serve, ping = (
        block.code for block in marked_blocks(PAGE.read_text()) if block.action == "command"
    )
    finished = [project.run("sh", "-c", line) for line in command_lines(check_and_migrate)]
    processes = []
    for number, line in enumerate(command_lines(serve)):
        log = (project.root / f"process-{number}.log").open("w")
        processes.append(
            subprocess.Popen(
                ["sh", "-c", "exec " + line.replace(DOCS_BIND, project.address)],
                cwd=project.root,
                env=project.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        )
    yield Running(processes, ping, finished)
    for process in processes:
        stop_process(process, group=True)


def test_every_block_of_the_page_is_marked_and_every_variable_is_exported(environment):
    text = PAGE.read_text()
    assert unmarked_blocks(text) == []
    assert exported_names(text) == set(environment)
    read = set(re.findall(r'os\.environ(?:\.get\(|\[)"([A-Z_]+)"', text))
    assert read == set(environment) - {"DJANGO_SETTINGS_MODULE"}


def test_the_redis_extra_brings_celerys_redis_transport():
    import configparser

    config = configparser.ConfigParser()
    config.read(ROOT / "setup.cfg")
    assert config["options.extras_require"]["redis"].split() == ["celery[redis]>=5.3"]
    assert 'pip install "django-voiceotp[redis]"' in PAGE.read_text()


def test_the_page_runs_a_code_to_success_on_postgresql_redis_and_threads_workers(
    project, running, sandbox_server
):
    web, worker1, worker2, beat = running.processes
    ping = running.ping

    # Every worker answers by a name of its own (readiness: they connect within seconds).
    deadline = time.monotonic() + 60
    while True:
        answered = project.run("sh", "-c", ping.strip(), check=False).stdout
        if ("worker1@" in answered and "worker2@" in answered) or time.monotonic() > deadline:
            break
        time.sleep(1)
    assert re.search(r"worker1@\S+: OK", answered), answered
    assert re.search(r"worker2@\S+: OK", answered), answered
    assert "DuplicateNodename" not in (project.root / "process-1.log").read_text()

    # A code requested, placed by a worker, reported back to gunicorn by callback, verified.
    wait_for_port(project.port, process=web)
    outcome = project.shell(
        "import json, time\n"
        "from django_voiceotp import request_code\n"
        "from django_voiceotp.models import Call\n"
        f"verification = request_code({PHONE!r})\n"
        "deadline = time.monotonic() + 60\n"
        "call = Call.objects.get(pk=verification.call_id)\n"
        "while call.status not in ('success', 'failed') and time.monotonic() < deadline:\n"
        "    time.sleep(0.2)\n"
        "    call.refresh_from_db()\n"
        "applied = call.callback_events.filter(verdict='applied').count()\n"
        "print(json.dumps([call.status, applied, str(verification.pk)]))\n"
    )
    status, applied, verification = json.loads(outcome)
    assert (status, applied) == ("success", 1)
    code = next(call["otp"] for call in sandbox_server.calls() if call["phone_number"] == PHONE)
    checked = project.shell(
        "from django_voiceotp import verify_code\n"
        f"print(verify_code({PHONE!r}, {code!r}, verification={verification!r}))\n"
    )
    assert checked.strip() == "True"

    # Beat schedules the sweeper and a worker runs it: its run is on record in Redis.
    swept = project.shell(
        "import time\n"
        "from django_voiceotp import health\n"
        "deadline = time.monotonic() + 45\n"
        "while health.check_sweeper().status != 'ok' and time.monotonic() < deadline:\n"
        "    time.sleep(0.5)\n"
        "print(health.check_sweeper().status)\n"
    )
    assert swept.strip() == "ok"

    # Stopped as a service manager stops them: the workers finish cleanly.
    for process in (worker1, worker2, beat, web):
        assert process.poll() is None, f"{process.args} exited early"
        stop_process(process, timeout=30)
    assert (worker1.returncode, worker2.returncode) == (0, 0)


def test_the_quickstarts_sqlite_options_left_on_postgresql_are_reported(project):
    # The move done in place: PostgreSQL in DATABASES, the quickstart's OPTIONS line after it.
    (project.root / "mysite" / "moved.py").write_text(
        "from mysite.production import *  # noqa: F403\n\n"
        'DATABASES["default"]["OPTIONS"] = {"transaction_mode": "IMMEDIATE"}\n'
    )
    checked = project.manage("check", env={"DJANGO_SETTINGS_MODULE": "mysite.moved"}, check=False)
    assert checked.returncode == 1
    assert "django_voiceotp.E040" in checked.stderr
    assert "transaction_mode" in checked.stderr
    assert "Traceback" not in checked.stderr


def test_the_provider_variables_left_unset_are_named_by_check(project):
    unset = {"VOICEOTP_API_URL": "", "VOICEOTP_SECRET_KEY": "", "VOICEOTP_CALLBACK_BASE_URL": ""}
    checked = project.manage("check", env=unset, check=False)
    assert checked.returncode == 1
    assert "VOICEOTP['API_URL'] is required" in checked.stderr
    assert "VOICEOTP['SECRET_KEY'] is required" in checked.stderr
    assert "django_voiceotp.E041" in checked.stderr
    assert "CALLBACK_BASE_URL'] is empty" in checked.stderr
    assert "Traceback" not in checked.stderr


def test_the_settings_pass_the_apps_checks_and_show_no_secret(project, running):
    checked = running.finished[0]
    assert "check --deploy" in checked.args[-1]
    assert "django_voiceotp" not in checked.stdout + checked.stderr  # no finding of the app's
    assert SECRET_KEY not in checked.stdout + checked.stderr


def test_the_database_is_postgresql_with_the_pool_and_no_option_of_sqlites(project):
    read = project.shell(
        "import json\n"
        "from django.db import connection\n"
        "print(json.dumps([connection.vendor, connection.settings_dict['OPTIONS']]))\n"
    )
    assert json.loads(read) == ["postgresql", {"pool": {"min_size": 0, "max_size": 32}}]
