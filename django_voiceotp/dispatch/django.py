"""The dispatcher for Django's tasks framework, and its tasks: ``VOICEOTP["DISPATCHER"] =
"django"``.

Django 6 has the framework built in (``django.tasks``); on Django 5.2 it is the django-tasks
backport (``django_tasks``, the ``tasks`` extra). The project's ``TASKS`` setting chooses the
backend, as it does for the project's own tasks: a worker backend such as django-tasks-db (its
``db_worker`` runs the tasks), or ``ImmediateBackend``, which runs each task at once in the
caller, as Celery's eager mode does.

Each job is a task here, a thin call into :mod:`django_voiceotp.jobs`. Their paths
(``django_voiceotp.dispatch.django.send_call``, …) are what a backend stores with each queued
task: they stay where they are.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.utils import timezone

from .. import jobs
from .base import JOBS, BaseDispatcher

# The same choice django-tasks-db makes: Django's own framework where there is one.
try:
    from django.tasks import task, task_backends
    from django.tasks.backends.immediate import ImmediateBackend
except ImportError:  # Django 5.2
    from django_tasks import task, task_backends  # type: ignore[assignment,no-redef]
    from django_tasks.backends.immediate import (  # type: ignore[assignment]
        ImmediateBackend,
    )


@task
def send_call(call_id: int | None = None) -> None:
    jobs.send_call(call_id)


@task
def poll_call(call_id: int) -> None:
    jobs.poll_call(call_id)


@task
def send_redial(call_id: int) -> None:
    jobs.send_redial(call_id)


@task
def run_fallback(call_id: int) -> None:
    jobs.run_fallback(call_id)


@task
def poll_pending_calls() -> dict[str, int]:
    return jobs.poll_pending_calls()


#: The task of each job, by the job's name (``dispatch.base.JOBS``).
TASKS: dict[str, Any] = {job: globals()[job] for job in JOBS}


class DjangoTasksDispatcher(BaseDispatcher):
    """Enqueues each job as the task of the same name above, on the ``TASKS`` backend the tasks
    name (the project's ``default`` one)."""

    @property
    def runs_inline(self) -> bool:  # type: ignore[override]
        return isinstance(_backend(), ImmediateBackend)

    @property
    def supports_delay(self) -> bool:  # type: ignore[override]
        # A backend without it refuses a task with run_after; the seam then enqueues nothing
        # and the call's stored time makes the sweeper run the job when it is due.
        return bool(_backend().supports_defer)

    def enqueue(self, job: str, call_id: int | None = None, *, delay: float | None = None) -> None:
        queued = TASKS[job]
        if delay:
            queued = queued.using(run_after=timezone.now() + timedelta(seconds=delay))
        args = () if call_id is None else (call_id,)
        queued.enqueue(*args)

    def validate(self) -> None:
        """Raise the framework's error if the backend cannot take the app's tasks (an unknown
        backend, or ``QUEUES`` without ``"default"``): checked at start-up (check E051)."""
        backend = _backend()
        for queued in TASKS.values():
            backend.validate_task(queued)


def _backend():
    # Looked up on each use, not kept: tests (override_settings(TASKS=...)) change it.
    return task_backends[send_call.backend]
