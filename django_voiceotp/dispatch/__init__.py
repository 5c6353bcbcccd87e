"""The seam between the app and its queue: the one place work is handed to a worker.

The queue is chosen like ``EMAIL_BACKEND``, by ``VOICEOTP["DISPATCHER"]``: ``"celery"`` (the
default), ``"django"`` (Django's tasks framework), or the dotted path of a
:class:`~django_voiceotp.dispatch.base.BaseDispatcher` subclass. The rules every queue shares live
here once: work is handed over after the transaction commits, a queue that cannot take it is
logged and survived (every job's state is in the database, and the sweeper finds it), and a
delayed job is left to the sweeper where the queue cannot hold it (eager mode, no delays).
"""

from __future__ import annotations

import logging
from functools import lru_cache, partial

from django.db import transaction
from django.utils.module_loading import import_string

from ..conf import voiceotp_settings
from . import coalescing
from .base import JOBS, BaseDispatcher

logger = logging.getLogger("django_voiceotp")

BUILT_IN = {
    "celery": "django_voiceotp.dispatch.celery.CeleryDispatcher",
    "django": "django_voiceotp.dispatch.django.DjangoTasksDispatcher",
}


def get_dispatcher() -> BaseDispatcher:
    """The dispatcher ``VOICEOTP["DISPATCHER"]`` names; one instance per name, per process."""
    return _dispatcher(voiceotp_settings.DISPATCHER)


@lru_cache(maxsize=8)
def _dispatcher(name: str) -> BaseDispatcher:
    return import_string(BUILT_IN.get(name, name))()


def enqueue(
    job: str, call_id: int | None = None, *, delay: float | None = None, survive: bool = True
) -> bool:
    """Hand ``job`` to the queue now; True when the queue took it.

    A delayed job the queue cannot hold is not handed over, and a queue that fails is logged:
    in both cases the call's stored times make the sweeper run the job when it is due. With
    ``survive=False`` (the sweeper itself) the queue's error is raised instead: a sweep that
    cannot hand its work over has not run.
    """
    if job not in JOBS:
        raise ValueError(f"Unknown job {job!r}; the jobs are {', '.join(JOBS)}.")
    try:
        dispatcher = get_dispatcher()
        # Run inline, a delayed job would run now, ahead of its time (a delay of 0 too: eager
        # mode leaves every follow-up to the sweeper, as Celery's eager mode runs no countdown).
        inline = delay is not None and dispatcher.runs_inline
        if inline or (delay and not dispatcher.supports_delay):
            return False
        dispatcher.enqueue(job, call_id, delay=delay)
    except Exception as err:
        if not survive:
            raise
        # The error's kind only: a broker's message may carry its URL, and a password in it.
        logger.warning(
            "Could not hand %s of call %s to the queue (%s); the sweeper will run it.",
            job,
            call_id,
            type(err).__name__,
        )
        return False
    return True


def enqueue_on_commit(job: str, call_id: int, *, delay: float | None = None) -> None:
    """:func:`enqueue` once the current transaction commits: nothing runs for a rolled-back call."""
    transaction.on_commit(partial(enqueue, job, call_id, delay=delay))


def send_on_commit(call_id: int) -> None:
    """Have a new call placed once the current transaction commits: a send job is published,
    unless one is waiting or running that will claim the call with its batch (``coalescing``)."""
    transaction.on_commit(partial(_send, call_id))


def _send(call_id: int) -> None:
    try:
        dispatcher = get_dispatcher()
    except Exception:  # noqa: BLE001 -- enqueue logs it and leaves the call to the sweeper
        enqueue("send_call", call_id)
        return
    if coalescing.take(dispatcher) and not enqueue("send_call", call_id):
        coalescing.release(dispatcher)  # not published: the next call may try


def runs_inline() -> bool:
    """Whether enqueued work runs at once in the caller (eager mode): retries are then made due
    now and run in a loop by the job itself, as Celery's eager ``retry()`` does."""
    return get_dispatcher().runs_inline
