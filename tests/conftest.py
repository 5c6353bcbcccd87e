"""Shared fixtures: a clean cache, a stopped clock, the live sandbox provider, a signal recorder."""

from __future__ import annotations

import os
import threading
from datetime import UTC, datetime

import pytest
from django.core.cache import cache
from django.db.backends.signals import connection_created

from django_voiceotp.signals import call_failed, call_status_changed, call_succeeded

from . import celery_app  # noqa: F401  (the Celery app the tasks run on)

SANDBOX_SECRET_KEY = "30511f666-f888-411b-a6e0-11111fb6gg7a"
#: 10:15:00 UTC: 45 minutes to the end of the clock hour, 13 h 45 min to the end of the day.
QUARTER_PAST_TEN = datetime(2026, 3, 2, 10, 15, tzinfo=UTC)

# The production tier (PostgreSQL, Redis, gunicorn, Celery workers) runs as its own session with
# its own settings: ``pytest tests/production --ds=tests.production.settings`` (``make test``).
# The django-allauth tests too: ``pytest tests/allauth_site --ds=tests.allauth_site.settings``.
collect_ignore = [
    tier
    for tier, settings_module in (
        ("production", "tests.production.settings"),
        ("allauth_site", "tests.allauth_site.settings"),
    )
    if os.environ.get("DJANGO_SETTINGS_MODULE") != settings_module
]


@pytest.fixture(autouse=True)
def _clean_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def clock(time_machine):
    """Time stopped at QUARTER_PAST_TEN.

    The abuse limits count per clock hour and UTC day: on the real clock, a test that fills a
    counter would pass or fail depending on how close to the hour it runs.
    """
    time_machine.move_to(QUARTER_PAST_TEN, tick=False)
    return time_machine


@pytest.fixture
def voiceotp(settings):
    """Change VOICEOTP keys for one test: ``voiceotp(API_URL=..., TIMEOUT=...)``."""

    def update(**values):
        settings.VOICEOTP = {**settings.VOICEOTP, **values}

    return update


@pytest.fixture
def callbacks_on(voiceotp):
    """Callback URLs go out with each call (a CALLBACK_BASE_URL is set)."""
    voiceotp(CALLBACK_BASE_URL="https://app.example.com")


RECORDING_DISPATCHER = "django_voiceotp.dispatch.recording.RecordingDispatcher"


@pytest.fixture
def dispatched(voiceotp):
    """The recording dispatcher: what the app hands to the queue is kept in its outbox, and
    nothing runs (the jobs would need a provider)."""
    from django_voiceotp import dispatch

    voiceotp(DISPATCHER=RECORDING_DISPATCHER)
    recorder = dispatch.get_dispatcher()
    recorder.clear()
    yield recorder
    recorder.clear()


@pytest.fixture
def lost_sends(voiceotp):
    """The first send of each call is lost on its way to the queue; the sweeper's copy arrives."""
    from django_voiceotp import dispatch

    voiceotp(DISPATCHER="tests.dispatchers.FirstSendLost")
    dispatcher = dispatch.get_dispatcher()
    dispatcher.lost.clear()
    return dispatcher


@pytest.fixture
def enqueued(dispatched):
    """The ids of the calls whose send was handed to the queue (and not run)."""
    return dispatched.call_ids["send_call"]


@pytest.fixture
def sandbox(live_server, voiceotp):
    """The sandbox provider served over loopback HTTP, with the app pointed at it."""
    from django_voiceotp.sandbox.state import provider

    provider.reset()
    provider.configure(call_duration=0.2)
    voiceotp(API_URL=f"{live_server.url}/sandbox/")
    yield provider
    provider.reset()


@pytest.fixture
def callbacks_to(live_server, voiceotp):
    """Have the provider post callbacks to this live server."""
    voiceotp(CALLBACK_BASE_URL=live_server.url)
    return live_server.url


class SignalRecorder:
    def __init__(self):
        self.events = []

    def __call__(self, signal, sender, call, **kwargs):
        name = {
            call_status_changed: "changed",
            call_succeeded: "succeeded",
            call_failed: "failed",
        }[signal]
        self.events.append((name, call.pk, kwargs))

    def names(self, call_id=None):
        return [
            (name, kwargs.get("old_status"), kwargs.get("new_status"))
            if name == "changed"
            else (name, kwargs.get("reason"))
            for name, pk, kwargs in self.events
            if call_id is None or pk == call_id
        ]


@pytest.fixture
def signals():
    """Records every call signal: ``signals.names(call_id)`` lists what was sent, in order."""
    recorder = SignalRecorder()
    for signal in (call_status_changed, call_succeeded, call_failed):
        signal.connect(recorder, weak=False, dispatch_uid=f"recorder-{id(signal)}")
    yield recorder
    for signal in (call_status_changed, call_succeeded, call_failed):
        signal.disconnect(dispatch_uid=f"recorder-{id(signal)}")


@pytest.fixture(scope="session")
def demo_server(tmp_path_factory):
    """The example project's demo (``manage.py rundemo``) serving on a free port."""
    from .demo_server import DemoServer

    server = DemoServer(tmp_path_factory.mktemp("demo"))
    server.wait_until_ready()
    yield server
    server.stop()


@pytest.fixture
def connections_opened_in_other_threads():
    """The database connections opened, during the test, by threads other than the test's own."""
    opened = []
    this_thread = threading.get_ident()

    def record(sender, connection, **kwargs):
        if threading.get_ident() != this_thread:
            opened.append(connection)

    connection_created.connect(record, weak=False, dispatch_uid="connections-in-other-threads")
    yield opened
    connection_created.disconnect(dispatch_uid="connections-in-other-threads")
    for connection in opened:  # whatever the test left open, from this thread
        connection.inc_thread_sharing()
        connection.close()


@pytest.fixture(scope="session")
def demo_server_quick_redial(tmp_path_factory):
    """The demo redialling a call nobody answered after 1 s instead of 20 (the sweeper, every
    5 s, places it), then sending the passcode by its console "SMS": a delivery to its end."""
    from .demo_server import DemoServer

    server = DemoServer(tmp_path_factory.mktemp("demo-redial"), options={"REDIAL_DELAY": 1})
    server.wait_until_ready()
    yield server
    server.stop()


RECORDING_PROVIDER = "django_voiceotp.providers.recording.RecordingProvider"


@pytest.fixture
def recording_provider(voiceotp):
    """The recording provider, named "pitel" (every campaign's by default): the calls the app
    places are kept in its ``placed``, none leaves the process. A change of VOICEOTP after it
    makes a new instance: change the settings first."""
    from django_voiceotp.providers import get_provider

    voiceotp(PROVIDERS={"pitel": {"BACKEND": RECORDING_PROVIDER, "DEFAULT_CAMPAIGN": "c78af"}})
    return get_provider("pitel")
