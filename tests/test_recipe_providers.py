"""docs/providers.rst, built as a new user would: the quickstart, then the page's blocks.

The page's settings replace the quickstart's flat keys with one named provider: ``manage.py
check`` passes, and a code sent from ``manage.py shell`` is placed at the sandbox the entry names,
recorded as the "pitel" provider's, and its result comes back by callback to the one door. The
Stringee section adds its sandbox and a second provider: a Stringee campaign's call is placed
there, the passcode read out, and its call events make it a success.
"""

from __future__ import annotations

import json
import time
import urllib.request

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
    assert actions[3:6] == ["append", "append", "shell"]  # Stringee: its sandbox, entry, a call


def test_the_page_is_in_the_toctree_under_how_it_works():
    index = (DOCS / "index.rst").read_text()
    how_it_works = index.split(":caption: How it works")[1].split(".. toctree::")[0]
    assert "   providers\n" in how_it_works


def test_the_named_provider_places_the_call_and_hears_its_result(project):
    send = project.codes("shell")[0]
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


def test_a_stringee_campaign_s_call_is_placed_at_stringee_and_its_events_make_it_a_success(project):
    send = project.codes("shell")[1]
    assert project.shell(send).split() == ["stringee", "sent"]
    read = (
        "from django_voiceotp.models import Call\n"
        "call = Call.objects.get(provider='stringee')\n"
        "print(call.campaign.provider, call.status)"
    )
    deadline = time.monotonic() + 30
    while (found := project.shell(read).split())[1] != "success":
        assert time.monotonic() < deadline, found
        time.sleep(0.5)
    assert found == ["stringee", "success"]
    # The sandbox read the passcode out, digit by digit: what the person heard.
    with urllib.request.urlopen(
        f"http://{project.address}/stringee-sandbox/_sandbox/calls"
    ) as page:
        [heard] = json.load(page)["calls"]
    assert heard["spoken"][0].count("4 8 2 9 1 6") == 2


def test_a_provider_out_of_use_sends_its_calls_to_the_next_of_failover(project):
    # The limits cache of the quickstart is per process: the breaker opened in this shell
    # decides this shell's send.
    failover = project.codes("shell")[2]
    provider, status = project.shell(failover).split()
    assert provider == "pitel-backup"
    assert status in ("sent", "success")
    checked = project.manage("check")
    assert "E062" not in checked.stdout + checked.stderr
