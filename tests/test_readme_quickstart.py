"""The README's quickstart, built as a new user would: a startproject project and README's blocks.

Each block the README marks with a comment ``.. quickstart: ACTION [FILE]`` is taken as written
(``tests/recipes.py`` says what each action does) and run as the docs' quickstart is
(``tests/test_docs_site.py``). The one change made to the README's text is the port: its
``127.0.0.1:8000`` becomes a free port, so the test never meets another server.
"""

from __future__ import annotations

import pytest

from .recipes import QUICKSTART_FILES, README, marked_blocks, unmarked_blocks
from .test_docs_site import quickstart_project, run_quickstart

SANDBOX_SECRET_KEY = "30511f666-f888-411b-a6e0-11111fb6gg7a"


def quickstart_blocks(text: str):
    return marked_blocks(text, mark="quickstart")


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    built = quickstart_project(
        tmp_path_factory.mktemp("quickstart"), README.read_text(), "quickstart"
    )
    yield built
    built.stop()


def test_the_readme_marks_the_quickstart_blocks():
    text = README.read_text()
    # Every block is marked: run, or not-run with the reason.
    assert unmarked_blocks(text, mark="quickstart") == []
    actions = [(block.action, block.path) for block in quickstart_blocks(text)]
    for needed in [
        *QUICKSTART_FILES,
        ("command", None),
        ("production", "mysite/settings.py"),
        ("shell", None),
    ]:
        assert needed in actions


def test_the_quickstart_works_as_pasted(project):
    # check, migrate, voiceotp_check's token round trip against the running sandbox, then the
    # shell sessions: request_code and verify_code, and send_otp.
    run_quickstart(project)


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
