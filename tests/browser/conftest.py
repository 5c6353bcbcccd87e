"""Debian's Chromium driven by Playwright; a missing Chromium skips only outside CI."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
# Playwright's own browser download does not work here: it drives the system's Chromium.
CHROMIUM_ARGS = [
    "--no-sandbox",  # CI runs as root
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


# Module scope, not session: Playwright's sync API keeps an event loop running in this thread
# while it is open, and on Python 3.12+ Django then refuses database work in later tests.
@pytest.fixture(scope="module")
def chromium():
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail(
                f"Chromium is not installed at {CHROMIUM}, and CI is set: the browser tests must "
                "run. .ci/run installs it with apt-get install chromium."
            )
        pytest.skip(
            f"Browser tests skipped: no Chromium at {CHROMIUM} (apt-get install chromium, or set "
            "CHROMIUM_PATH). Under CI=true this is a failure."
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page_for(chromium):
    """``page_for(locale, width, height)``: a fresh browser context (cookies, language) and its
    page, 1280×900 unless told."""
    contexts = []

    def open_page(locale: str = "en-US", width: int = 1280, height: int = 900):
        context = chromium.new_context(viewport={"width": width, "height": height}, locale=locale)
        context.set_default_timeout(15_000)
        contexts.append(context)
        return context.new_page()

    yield open_page
    for context in contexts:
        context.close()


@pytest.fixture(scope="module")
def demo_server_with_cooldown(tmp_path_factory):
    """The demo with the default wait between two calls to one number, as a visitor meets it."""
    from ..demo_server import DemoServer

    server = DemoServer(tmp_path_factory.mktemp("demo-cooldown"), options={"RESEND_COOLDOWN": 60})
    server.wait_until_ready()
    yield server
    server.stop()
