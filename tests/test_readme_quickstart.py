"""The README's quickstart, built as a new user would: a startproject project and README's blocks.

Each block the README marks with a comment ``.. quickstart: ACTION [FILE]`` is taken as written
(``tests/recipes.py`` says what each action does). The one change made to the README's text is
the port: its ``127.0.0.1:8000`` becomes a free port, so the test never meets another server.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import urllib.request
from pathlib import Path

import pytest

import django_voiceotp

from .recipes import Project, marked_blocks

README = Path(__file__).resolve().parent.parent / "README.rst"
SANDBOX_SECRET_KEY = "30511f666-f888-411b-a6e0-11111fb6gg7a"


def quickstart_blocks(text: str):
    return marked_blocks(text, mark="quickstart")


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    built = Project(tmp_path_factory.mktemp("quickstart"))
    built.apply(quickstart_blocks(README.read_text()))
    built.start_server()
    yield built
    built.stop()


def sandbox_calls(project, phone_number: str) -> list[dict]:
    url = f"http://127.0.0.1:{project.port}/sandbox/_sandbox/calls?phone_number={phone_number}"
    with urllib.request.urlopen(url) as response:
        return json.load(response)


def test_the_readme_marks_the_quickstart_blocks():
    actions = [(block.action, block.path) for block in quickstart_blocks(README.read_text())]
    for needed in [
        ("append", "mysite/settings.py"),
        ("replace", "mysite/urls.py"),
        ("replace", "mysite/celery.py"),
        ("replace", "mysite/__init__.py"),
        ("production", "mysite/settings.py"),
        ("replace", "mysite/views.py"),
        ("shell", None),
    ]:
        assert needed in actions


def test_the_quickstart_works_as_pasted(project):
    # check: no error, and the Celery app of celery.py is the one in use (no W003).
    checked = project.manage("check")
    assert "django_voiceotp.W003" not in checked.stdout + checked.stderr
    project.manage("migrate")
    project.wait_until_serving()

    token_trip = project.manage("voiceotp_check")
    assert "✓ Celery: eager" in token_trip.stdout
    assert "✓ provider: access token obtained" in token_trip.stdout

    # The README's shell sessions: request_code then verify_code, then send_otp.
    verified, sent = (project.shell(code) for code in project.codes("shell"))
    assert verified.strip() == "True"
    assert sent.strip() == "pending"

    # The README's views, through the URLs it adds: request, follow, check; a code is single use.
    flow = project.shell(
        textwrap.dedent(
            """
            import json

            from django.test import Client

            import mysite.receivers  # the README's receivers load
            client = Client(HTTP_HOST="127.0.0.1")
            requested = client.post("/call-me/", {"phone": "0771122331"})
            print(json.dumps([requested.status_code, client.get("/call-status/").json()]))
            """
        )
    )
    assert json.loads(flow) == [200, {"call_status": "sent"}]
    code = sandbox_calls(project, "0771122331")[0]["otp"]
    checks = project.shell(
        textwrap.dedent(
            f"""
            from django.test import Client

            client = Client(HTTP_HOST="127.0.0.1")
            typed = {{"phone": "0771122331", "code": "{code}"}}
            for _ in range(2):
                print(client.post("/check-code/", typed).json())
            """
        )
    )
    assert checks.splitlines() == ["{'verified': True}", "{'verified': False}"]

    # Every call was placed through the sandbox: none left pending, each has the provider's id.
    calls = project.shell(
        "import json\n"
        "from django_voiceotp.models import Call\n"
        "print(json.dumps(list(Call.objects.values_list('status', 'provider_call_id'))))"
    )
    placed = json.loads(calls)
    assert len(placed) == 3
    assert all(status != "pending" and provider_call_id for status, provider_call_id in placed)


def test_the_production_settings_name_what_to_export(project):
    # A first run with nothing exported: check errors naming the keys, not a KeyError.
    unset = project.manage("check", "--settings=mysite.production", check=False)
    assert unset.returncode == 1
    assert "VOICEOTP['API_URL'] is required" in unset.stderr
    assert "VOICEOTP['SECRET_KEY'] is required" in unset.stderr
    assert "Traceback" not in unset.stderr

    # Exported as the README says, the same settings pass (here pointing at the sandbox).
    exported = {
        "VOICEOTP_API_URL": f"http://127.0.0.1:{project.port}/sandbox/",
        "VOICEOTP_SECRET_KEY": SANDBOX_SECRET_KEY,
        "VOICEOTP_CAMPAIGN": "c78af",
    }
    checked = project.manage("check", "--settings=mysite.production", env=exported)
    assert "django_voiceotp.I001" not in checked.stdout + checked.stderr  # the sweeper is there
    assert SANDBOX_SECRET_KEY not in checked.stdout + checked.stderr


def test_the_readme_views_type_check(project):
    # The call of a verification may be None (purged): the README's status line must say so.
    config = project.root / "mypy-quickstart.ini"
    config.write_text(
        "[mypy]\n"
        "plugins = mypy_django_plugin.main\n"
        f"cache_dir = {project.root / '.mypy_cache'}\n"
        "[mypy.plugins.django-stubs]\n"
        "django_settings_module = mysite.settings\n"
        "[mypy-celery.*]\n"
        "ignore_missing_imports = True\n"
    )
    search_path = [str(project.root)]
    # mypy does not follow an editable install's import hook: point it at the checkout then.
    installed_in = Path(django_voiceotp.__file__).resolve().parent.parent
    if installed_in.name != "site-packages":
        search_path.append(str(installed_in))
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--config-file", str(config), "mysite/views.py"],
        cwd=project.root,
        env={
            **project.env,
            "PYTHONPATH": str(project.root),
            "MYPYPATH": os.pathsep.join(search_path),
        },
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
