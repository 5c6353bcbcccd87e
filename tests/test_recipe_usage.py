"""docs/usage.rst, built as a new user would: the quickstart, then the page's blocks in order.

The shell blocks run in ``manage.py shell``; the views are used over real HTTP as a browser uses
them: GET the form, POST it with its CSRF token and the session cookie, follow the call to its
end, read the code from the sandbox and type it. The receivers, connected by the page's
``AppConfig.ready()``, are seen to run in the web process that received the callback.
"""

from __future__ import annotations

import http.cookiejar
import json
import os
import re
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

import django_voiceotp

from .recipes import DOCS, Project, build_after_quickstart, marked_blocks, unmarked_blocks

PAGE = DOCS / "usage.rst"
CSRF_FIELD = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


class Browser:
    """Requests as a browser makes them: cookies kept, redirects followed, errors answered."""

    def __init__(self, project: Project):
        self.base = f"http://{project.address}"
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
        )

    def request(self, path: str, data: dict | None = None) -> tuple[int, str, str]:
        """Status, final URL path and body."""
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        try:
            with self.opener.open(self.base + path, data=body, timeout=30) as response:
                url = urllib.parse.urlsplit(response.url).path
                return response.status, url, response.read().decode()
        except urllib.error.HTTPError as err:
            return err.code, path, err.read().decode()

    def submit(self, path: str, fields: dict) -> tuple[int, str, str]:
        """GET the form at ``path``, then POST ``fields`` with its CSRF token."""
        status, _, page = self.request(path)
        assert status == 200, page[:500]
        token = CSRF_FIELD.search(page)
        assert token, page[:500]
        return self.request(path, {**fields, "csrfmiddlewaretoken": token[1]})

    def follow_call(self) -> str:
        """The status view, asked as the page's script asks it, until the call has ended.
        (Readiness, not a measure: the sandbox's call lasts a second.)"""
        deadline = time.monotonic() + 30
        while True:
            status, _, body = self.request("/phone/status/")
            assert status == 200
            call_status = json.loads(body)["call_status"]
            if call_status in ("success", "failed") or time.monotonic() > deadline:
                return call_status
            time.sleep(0.2)


def sandbox_code(project: Project, phone_number: str) -> str:
    query = urllib.parse.urlencode({"phone_number": phone_number})
    url = f"http://{project.address}/sandbox/_sandbox/calls?{query}"
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.load(response)[0]["otp"]


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    built = build_after_quickstart(tmp_path_factory.mktemp("usage"), PAGE)
    built.wait_until_serving("/phone/")
    yield built
    built.stop()


def test_every_block_of_the_page_is_marked():
    text = PAGE.read_text()
    assert unmarked_blocks(text) == []
    actions = [block.action for block in marked_blocks(text)]
    assert actions.count("shell") == 2
    assert {"command", "append", "replace"} <= set(actions)


def test_the_shell_blocks_request_verify_and_send(project):
    verified, sent = (project.shell(code) for code in project.codes("shell"))
    assert verified.splitlines() == ["True", "False"]
    assert sent.strip() == "pending"


def test_a_person_gets_a_call_and_verifies_the_code_through_the_views(project):
    browser = Browser(project)
    # Without the form's CSRF token a POST is refused: the form carries it.
    assert browser.request("/phone/", {"phone": "0771122331"})[0] == 403

    status, landed, page = browser.submit("/phone/", {"phone": "0771122331"})
    assert (status, landed) == (200, "/phone/check/"), page[:500]
    assert "We are calling 0771122331" in page

    assert browser.follow_call() == "success"
    code = sandbox_code(project, "0771122331")
    wrong = "000000" if code != "000000" else "111111"
    status, _, page = browser.submit("/phone/check/", {"code": wrong})
    assert status == 200 and "That is not the code" in page
    status, _, page = browser.submit("/phone/check/", {"code": code})
    assert status == 200 and "0771122331 is verified." in page
    # Verified, the session has no code to check any more: back to the number's form.
    assert browser.request("/phone/check/")[1] == "/phone/"

    # A second call to the number within RESEND_COOLDOWN: refused with the wait, on the form.
    status, landed, page = browser.submit("/phone/", {"phone": "0771122331"})
    assert (status, landed) == (429, "/phone/")
    assert re.search(r"ask again in \d+ s\.", page)

    # Not a number: the form says so.
    status, _, page = browser.submit("/phone/", {"phone": "not a number"})
    assert status == 400 and "This number cannot be called." in page


def test_the_receivers_connected_in_ready_run_in_the_web_process(project):
    browser = Browser(project)
    browser.submit("/phone/", {"phone": "0771122332"})
    assert browser.follow_call() == "success"
    failing = Browser(project)
    failing.submit("/phone/", {"phone": "0771122339"})  # 9: the sandbox's call fails
    assert failing.follow_call() == "failed"

    ids = json.loads(
        project.shell(
            "import json\n"
            "from django_voiceotp.models import Call\n"
            "calls = Call.objects.filter(phone_number__in=['0771122332', '0771122339'])\n"
            "print(json.dumps(dict(calls.values_list('phone_number', 'pk'))))"
        )
    )
    log = (project.root / "runserver.log").read_text()
    assert f"Call {ids['0771122332']}: the code was read out." in log
    assert f"Call {ids['0771122339']} failed (Fail): nothing more will be tried." in log


def test_the_views_type_check(project):
    # The call of a verification may be None (purged): the page's status view must say so.
    config = project.root / "mypy-usage.ini"
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
        [sys.executable, "-m", "mypy", "--config-file", str(config), "phone/views.py"],
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
