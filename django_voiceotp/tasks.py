"""Celery tasks: thin wrappers over services, scheduling the follow-ups the services ask for."""

from __future__ import annotations

import logging

from celery import shared_task
from django.utils import timezone

from . import delivery, health, metrics, services
from .models import Call

logger = logging.getLogger("django_voiceotp")


@shared_task(ignore_result=True)
def send_call(call_id: int) -> None:
    """Place the call with the provider; retried with backoff while the provider is unavailable.

    In eager mode a retry runs at once, as Celery's eager ``retry()`` does; each attempt counts
    against ``SEND_MAX_RETRIES`` all the same.
    """
    if not send_call.app.conf.task_always_eager:
        _schedule(call_id, services.send_call(call_id))
        return
    while True:
        attempts_before = _send_attempts(call_id)
        follow_up = services.send_call(call_id)
        if follow_up is None or follow_up.task != "send_call":
            break
        if not _retry_due_now(call_id, attempt=attempts_before + 1):
            return
    _schedule(call_id, follow_up)


@shared_task(ignore_result=True)
def poll_call(call_id: int) -> None:
    """Ask the provider for the result of a sent call, following ``POLL_SCHEDULE``.

    It schedules no next poll: the call's ``next_poll_at`` is stored, and the sweeper sends a
    poll task once it is due.
    """
    services.poll_call(call_id)


@shared_task(ignore_result=True)
def send_redial(call_id: int) -> None:
    """Place a redial once its REDIAL_DELAY is over; a task delivered early does nothing."""
    if delivery.redial_is_due(call_id):
        send_call(call_id)


@shared_task(ignore_result=True)
def run_fallback(call_id: int) -> None:
    """Hand the passcode of a delivery whose last call failed to FALLBACK_SENDER, once; a sender
    that raises is retried with backoff (in eager mode at once), a bounded number of times."""
    while True:
        retry_in = delivery.run_fallback(call_id)
        if retry_in is None:
            return
        if not run_fallback.app.conf.task_always_eager:
            run_fallback.apply_async((call_id,), countdown=retry_in)
            return
        if not delivery.fallback_due_now(call_id):
            return


@shared_task(ignore_result=True)
def poll_pending_calls() -> dict[str, int]:
    """The periodic sweeper: polls calls that are due, re-sends calls whose send task was lost,
    fails calls whose passcode is too old to send. Install it in the beat schedule."""
    expired = services.expire_stale_calls()
    delivery.erase_stale_passcodes()
    for call_id in delivery.fallbacks_due():
        run_fallback.delay(call_id)
    to_send = services.calls_due_for_send()
    to_poll = services.calls_due_for_poll()
    for call_id in to_send:
        send_call.delay(call_id)
    for call_id in to_poll:
        poll_call.delay(call_id)
    # One cache write, for the health check: a sweeper that stops running is noticed.
    health.record_sweeper_run()
    if metrics.enabled():
        metrics.calls_waiting(**services.calls_waiting())
    return {"expired": expired, "sent": len(to_send), "polled": len(to_poll)}


TASKS = {"send_call": send_call}


def _schedule(call_id: int, follow_up: services.FollowUp | None) -> None:
    if follow_up is None:
        return
    task = TASKS[follow_up.task]
    if task.app.conf.task_always_eager:
        # send_call runs its eager retries itself; nothing else is scheduled ahead of its time.
        return
    task.apply_async((call_id,), countdown=follow_up.delay)


def _send_attempts(call_id: int) -> int:
    return Call.objects.filter(pk=call_id).values_list("send_attempts", flat=True).first() or 0


def _retry_due_now(call_id: int, *, attempt: int) -> bool:
    """Make the retry of the send attempt number ``attempt`` due now; False if the call moved on.

    The guard on the attempt number touches only this run's own retry: if another process has
    claimed the call since, its lease stands, and no second call is placed.
    """
    return bool(
        Call.objects.filter(pk=call_id, status=Call.Status.PENDING, send_attempts=attempt).update(
            next_attempt_at=timezone.now()
        )
    )
