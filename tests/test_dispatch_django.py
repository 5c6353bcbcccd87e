"""``VOICEOTP["DISPATCHER"] = "django"``: Django's tasks framework runs the app's work, no Celery.

With ``ImmediateBackend`` the framework runs each task at once in the caller, as Celery's eager
mode does, and the same rules hold: the decisive tests of the eager pipeline (``test_eager``,
``test_pipeline``, ``test_delivery``: send, retry, poll, redial, fallback, callbacks, duplicates)
are imported below and run again here, under this module's autouse fixture, which also makes
Celery refuse every task and turns its eager mode off, so nothing here can pass through Celery.

Then the dispatcher itself, on backends that keep what they are given: a retry deferred with
``run_after``, a backend that cannot defer (the sweeper runs the retry), a backend that fails.
"""

from __future__ import annotations

from datetime import timedelta

import django
import pytest
from django.utils import timezone

from django_voiceotp import send_otp, tasks
from django_voiceotp.dispatch import get_dispatcher
from django_voiceotp.models import Call

from .celery_app import app
from .test_delivery import (  # noqa: F401 - their fixtures and tests, run here again
    fallback,
    provider,
    test_a_sender_that_raises_once_sends_on_its_retry,
    test_an_unavailable_provider_goes_to_the_fallback,
    test_busy_three_times_two_calls_then_the_fallback_once,
    test_not_answered_then_answered_on_the_redial,
)
from .test_eager import (  # noqa: F401
    test_a_single_transient_500_is_retried_at_once,
    test_connection_refused_is_retried_up_to_the_limit,
    test_polls_are_not_run_early,
    test_send_max_retries_plus_one_failures_fail_the_call,
)
from .test_pipeline import (  # noqa: F401
    test_callback_before_the_send_returns,
    test_duplicate_callbacks_change_nothing,
    test_duplicated_send_task_places_one_call,
    test_failure_by_callback,
    test_nothing_sent_from_a_rolled_back_transaction,
    test_polling_without_callback,
    test_retry_limit_fails_with_a_reason,
    test_round_trip_by_callback,
    test_send_waits_for_the_commit,
)

pytestmark = pytest.mark.django_db(transaction=True)

#: Django 6's framework, or on Django 5.2 the django-tasks backport.
FRAMEWORK = "django.tasks" if django.VERSION >= (6, 0) else "django_tasks"
IMMEDIATE = f"{FRAMEWORK}.backends.immediate.ImmediateBackend"
DUMMY = f"{FRAMEWORK}.backends.dummy.DummyBackend"
CELERY_TASKS = [
    tasks.send_call,
    tasks.poll_call,
    tasks.send_redial,
    tasks.run_fallback,
    tasks.poll_pending_calls,
]


@pytest.fixture(autouse=True)
def django_tasks(settings, voiceotp, monkeypatch):
    """The "django" dispatcher on ImmediateBackend; Celery refuses every task it is handed."""
    settings.TASKS = {"default": {"BACKEND": IMMEDIATE}}
    voiceotp(DISPATCHER="django")
    eager, app.conf.task_always_eager = app.conf.task_always_eager, False
    handed_to_celery = []

    def refuse(*args, **kwargs):
        handed_to_celery.append(args)
        raise AssertionError("a task was handed to Celery")

    for task in CELERY_TASKS:
        monkeypatch.setattr(task, "apply_async", refuse)
    yield
    app.conf.task_always_eager = eager
    assert handed_to_celery == []


# -- the dispatcher --------------------------------------------------------------------------------


def test_the_django_dispatcher_runs_inline_on_the_immediate_backend_only(settings):
    from django_voiceotp.dispatch.django import DjangoTasksDispatcher

    dispatcher = get_dispatcher()
    assert isinstance(dispatcher, DjangoTasksDispatcher)
    assert (dispatcher.runs_inline, dispatcher.supports_delay) == (True, False)
    settings.TASKS = {"default": {"BACKEND": DUMMY}}
    assert (dispatcher.runs_inline, dispatcher.supports_delay) == (False, True)
    settings.TASKS = {"default": {"BACKEND": "tests.test_dispatch_django.NoDeferBackend"}}
    assert (dispatcher.runs_inline, dispatcher.supports_delay) == (False, False)


def test_each_job_is_a_task_of_its_own_and_a_delay_is_a_run_after(settings, time_machine):
    settings.TASKS = {"default": {"BACKEND": DUMMY}}
    from django_voiceotp.dispatch.django import task_backends

    time_machine.move_to(timezone.now(), tick=False)
    dispatcher = get_dispatcher()
    dispatcher.enqueue("send_call", 7)
    dispatcher.enqueue("send_call", 7, delay=2.5)
    dispatcher.enqueue("poll_call", 8)
    dispatcher.enqueue("send_redial", 9, delay=20)
    dispatcher.enqueue("run_fallback", 10)
    dispatcher.enqueue("poll_pending_calls")
    enqueued = [
        (result.task.module_path, list(result.args), result.task.run_after)
        for result in task_backends["default"].results
    ]
    module = "django_voiceotp.dispatch.django"
    now = timezone.now()
    assert enqueued == [
        (f"{module}.send_call", [7], None),
        (f"{module}.send_call", [7], now + timedelta(seconds=2.5)),
        (f"{module}.poll_call", [8], None),
        (f"{module}.send_redial", [9], now + timedelta(seconds=20)),
        (f"{module}.run_fallback", [10], None),
        (f"{module}.poll_pending_calls", [], None),
    ]


def test_a_send_retry_is_deferred_by_its_backoff(sandbox, settings, time_machine):
    settings.TASKS = {"default": {"BACKEND": DUMMY}}
    from django_voiceotp.dispatch.django import send_call, task_backends

    time_machine.move_to(timezone.now(), tick=False)
    sandbox.inject("http_error", endpoint="voiceotp", status=503)
    call = send_otp("0771122330", "482915")
    [queued] = task_backends["default"].results
    assert (queued.task.module_path, list(queued.args), queued.task.run_after) == (
        "django_voiceotp.dispatch.django.send_call",
        [call.pk],
        None,  # the first send: at once, once the transaction has committed
    )
    send_call.call(call.pk)  # what the worker does with it
    call.refresh_from_db()
    assert (call.status, call.send_attempts) == ("pending", 1)
    retry = task_backends["default"].results[-1]
    assert list(retry.args) == [call.pk]
    assert retry.task.run_after == call.next_attempt_at > timezone.now()
    time_machine.move_to(retry.task.run_after, tick=False)
    send_call.call(call.pk)
    call.refresh_from_db()
    assert (call.status, call.send_attempts) == ("sent", 2)
    assert len(sandbox.requests_for("voiceotp")) == 2


def test_without_defer_a_retry_is_not_enqueued_and_the_sweeper_sends_it(
    sandbox, settings, time_machine
):
    settings.TASKS = {"default": {"BACKEND": "tests.test_dispatch_django.NoDeferBackend"}}
    from django_voiceotp.dispatch.django import send_call, task_backends

    time_machine.move_to(timezone.now(), tick=False)
    sandbox.inject("http_error", endpoint="voiceotp", status=503)
    call = send_otp("0771122330", "482915")
    results = task_backends["default"].results
    send_call.call(results.pop().args[0])
    call.refresh_from_db()
    assert (call.status, call.send_attempts) == ("pending", 1)
    assert results == []  # the retry: its time is on the call, not in the queue

    assert tasks.poll_pending_calls()["sent"] == 0  # not due yet
    time_machine.move_to(call.next_attempt_at, tick=False)
    assert tasks.poll_pending_calls()["sent"] == 1
    [swept] = results
    assert (swept.task.module_path, list(swept.args)) == (
        "django_voiceotp.dispatch.django.send_call",
        [call.pk],
    )
    send_call.call(call.pk)
    call.refresh_from_db()
    assert call.status == Call.Status.SENT


def test_a_backend_that_fails_is_logged_and_the_sweeper_sends_the_call(
    sandbox, settings, time_machine, caplog
):
    settings.TASKS = {"default": {"BACKEND": "tests.test_dispatch_django.BrokenBackend"}}
    call = send_otp("0771122330", "482915")
    call.refresh_from_db()
    assert call.status == Call.Status.PENDING
    assert "the sweeper will" in caplog.text
    assert "482915" not in caplog.text

    settings.TASKS = {"default": {"BACKEND": IMMEDIATE}}
    time_machine.move_to(call.next_attempt_at, tick=True)  # PENDING_GRACE has passed
    assert tasks.poll_pending_calls()["sent"] == 1
    call.refresh_from_db()
    assert call.status == Call.Status.SENT
    assert len(sandbox.requests_for("voiceotp")) == 1


# Backends for the tests above, named by their dotted path in TASKS.
_dummy = __import__(f"{FRAMEWORK}.backends.dummy", fromlist=["DummyBackend"]).DummyBackend


class NoDeferBackend(_dummy):
    """Keeps what it is given, but cannot hold a task until later (no ``run_after``)."""

    supports_defer = False


class BrokenBackend(_dummy):
    """The database or the broker behind the backend is away."""

    def enqueue(self, task, args, kwargs):
        raise ConnectionError("the task store is away")
