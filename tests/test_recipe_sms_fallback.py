"""docs/sms-fallback.rst, built as a new user would: the quickstart, then the page's blocks.

The settings and URLs are pasted as the page gives them; ``manage.py check`` passes; a code sent
from ``manage.py shell`` to a number whose calls fail reaches the eSMS sandbox as an SMS, the
same passcode, once.
"""

from __future__ import annotations

import json
import time
import urllib.parse
import urllib.request

import pytest

from .recipes import DOCS, Project, build_after_quickstart, marked_blocks, unmarked_blocks

PAGE = DOCS / "sms-fallback.rst"
PHONE = "0771122339"


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    built = build_after_quickstart(tmp_path_factory.mktemp("sms"), PAGE)
    built.wait_until_serving("/esms-sandbox/_sandbox/messages")
    yield built
    built.stop()


def messages(project: Project) -> list[dict]:
    query = urllib.parse.urlencode({"phone": PHONE})
    url = f"http://{project.address}/esms-sandbox/_sandbox/messages?{query}"
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.load(response)


def test_every_block_of_the_page_is_marked():
    text = PAGE.read_text()
    assert unmarked_blocks(text) == []
    actions = [block.action for block in marked_blocks(text)]
    assert actions == ["append", "append", "command", "shell"]


def test_the_settings_pass_the_checks(project):
    result = project.manage("check")
    assert "E061" not in result.stdout + result.stderr
    assert "W020" not in result.stdout + result.stderr


def test_a_failed_call_sends_the_same_passcode_by_sms_once(project):
    [code] = project.codes("shell")
    assert project.shell(code).strip() in ("pending", "sent", "failed")
    deadline = time.monotonic() + 30  # readiness: the call fails, then the fallback runs
    while not messages(project) and time.monotonic() < deadline:
        time.sleep(0.2)
    [message] = messages(project)
    assert "482915" in message["Content"]
    assert message["RequestId"].startswith("voiceotp-")
    assert (message["Brandname"], message["Sandbox"]) == ("Baotrixemay", False)
