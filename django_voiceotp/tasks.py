"""Celery tasks: thin wrappers over services, scheduling the follow-ups the services ask for."""

from __future__ import annotations

import logging

from celery import shared_task

from . import services

logger = logging.getLogger("django_voiceotp")


@shared_task(ignore_result=True)
def send_call(call_id: int) -> None:
    """Place the call with the provider; retried with backoff while the provider is unavailable."""
    _schedule(call_id, services.send_call(call_id))


@shared_task(ignore_result=True)
def poll_call(call_id: int) -> None:
    """Ask the provider for the result of a sent call, following ``POLL_SCHEDULE``."""
    _schedule(call_id, services.poll_call(call_id))


@shared_task(ignore_result=True)
def poll_pending_calls() -> dict[str, int]:
    """The periodic sweeper: polls calls that are due, re-sends calls whose send task was lost,
    fails calls whose passcode is too old to send. Install it in the beat schedule."""
    expired = services.expire_stale_calls()
    to_send = services.calls_due_for_send()
    to_poll = services.calls_due_for_poll()
    for call_id in to_send:
        send_call.delay(call_id)
    for call_id in to_poll:
        poll_call.delay(call_id)
    return {"expired": expired, "sent": len(to_send), "polled": len(to_poll)}


TASKS = {"send_call": send_call, "poll_call": poll_call}


def _schedule(call_id: int, follow_up: services.FollowUp | None) -> None:
    if follow_up is None:
        return
    task = TASKS[follow_up.task]
    if task.app.conf.task_always_eager:
        # Eager mode would run the follow-up now, ignoring its delay; the sweeper runs it when due.
        return
    task.apply_async((call_id,), countdown=follow_up.delay)
