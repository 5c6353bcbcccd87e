"""Shared fixtures: a clean cache and the live sandbox provider."""

from __future__ import annotations

import pytest
from django.core.cache import cache

SANDBOX_SECRET_KEY = "30511f666-f888-411b-a6e0-11111fb6gg7a"


@pytest.fixture(autouse=True)
def _clean_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def voiceotp(settings):
    """Change VOICEOTP keys for one test: ``voiceotp(API_URL=..., TIMEOUT=...)``."""

    def update(**values):
        settings.VOICEOTP = {**settings.VOICEOTP, **values}

    return update


@pytest.fixture
def sandbox(live_server, voiceotp):
    """The sandbox provider served over loopback HTTP, with the app pointed at it."""
    from django_voiceotp.sandbox.state import provider

    provider.reset()
    provider.configure(call_duration=0.2)
    voiceotp(API_URL=f"{live_server.url}/sandbox/")
    yield provider
    provider.reset()

