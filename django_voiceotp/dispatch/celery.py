"""The Celery dispatcher, the default: each job is the task of the same name in ``tasks``."""

from __future__ import annotations

from .. import tasks
from .base import JOBS, BaseDispatcher

TASKS = {job: getattr(tasks, job) for job in JOBS}


def celery_app():
    """The Celery app the tasks are sent on: Celery's current app, as ``shared_task`` binds it."""
    return tasks.send_call.app


class CeleryDispatcher(BaseDispatcher):
    @property
    def runs_inline(self) -> bool:  # type: ignore[override]
        return bool(celery_app().conf.task_always_eager)

    def enqueue(self, job: str, call_id: int | None = None, *, delay: float | None = None) -> None:
        args = () if call_id is None else (call_id,)
        TASKS[job].apply_async(args, countdown=delay)
