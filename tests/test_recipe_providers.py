"""docs/providers.rst, built as a new user would: the quickstart, then the page's blocks.

The page's settings replace the quickstart's flat keys with one named provider: ``manage.py
check`` passes, and a code sent from ``manage.py shell`` is placed at the sandbox the entry names,
recorded as the "pitel" provider's, and its result comes back by callback to the one door.
"""

from __future__ import annotations

import time

import pytest

from .recipes import DOCS, build_after_quickstart, marked_blocks, unmarked_blocks

PAGE = DOCS / "providers.rst"


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    built = build_after_quickstart(tmp_path_factory.mktemp("providers"), PAGE)
    yield built
    built.stop()


def test_every_block_of_the_page_is_marked():
    text = PAGE.read_text()
    assert unmarked_blocks(text) == []
    actions = [block.action for block in marked_blocks(text)]
    assert actions[:3] == ["append", "command", "shell"]


def test_the_page_is_in_the_toctree_under_how_it_works():
    index = (DOCS / "index.rst").read_text()
    how_it_works = index.split(":caption: How it works")[1].split(".. toctree::")[0]
    assert "   providers\n" in how_it_works


def test_the_named_provider_places_the_call_and_hears_its_result(project):
    send, _ = project.codes("shell")
    provider, status = project.shell(send).split()
    assert provider == "pitel"
    assert status in ("sent", "success")
    read = (
        "from django_voiceotp.models import Call\n"
        "call = Call.objects.get()\n"
        "print(call.provider, call.campaign.provider, call.status)"
    )
    deadline = time.monotonic() + 30
    while (found := project.shell(read).split())[2] != "success":
        assert time.monotonic() < deadline, found
        time.sleep(0.5)
    assert found == ["pitel", "pitel", "success"]


def test_a_provider_out_of_use_sends_its_calls_to_the_next_of_failover(project):
    # The limits cache of the quickstart is per process: the breaker opened in this shell
    # decides this shell's send.
    _, failover = project.codes("shell")
    provider, status = project.shell(failover).split()
    assert provider == "pitel-backup"
    assert status in ("sent", "success")
    checked = project.manage("check")
    assert "E062" not in checked.stdout + checked.stderr
