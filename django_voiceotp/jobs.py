"""The work the queue runs, whichever queue it is: each job of ``dispatch.base.JOBS`` is a
function here, and the tasks of each queue (``tasks`` for Celery, ``dispatch.django`` for
Django's tasks framework) are thin wrappers over them."""

from __future__ import annotations

from django.utils import timezone

from . import breaker, claims, delivery, dispatch, health, metrics, results, sending, sweeping
from .conf import voiceotp_settings
from .dispatch import coalescing
from .models import Call


def send_call(call_id: int | None = None) -> None:
    """Place the call with the provider, with the calls waiting beside it (``SEND_BATCH_SIZE``
    at a time, until none is left); a retry is handed to the queue with its backoff. ``None``:
    only the calls waiting (a job published beside another whose batch was full).

    When the queue runs work inline (eager mode) only this call is placed, and a retry runs at
    once, as Celery's eager ``retry()`` does; each attempt counts against ``SEND_MAX_RETRIES``
    all the same.
    """
    dispatcher = dispatch.get_dispatcher()
    if coalescing.batches(dispatcher):
        _send_batches(dispatcher, call_id)
        return
    if call_id is None:
        return  # batches were given up since it was published: each call has a job of its own
    if not dispatcher.runs_inline:
        retry_in = sending.send_call(call_id)
        if retry_in is not None:
            dispatch.enqueue("send_call", call_id, delay=retry_in)
        return
    while True:
        attempts_before = _send_attempts(call_id)
        if sending.send_call(call_id) is None:
            return
        if not _retry_due_now(call_id, attempt=attempts_before + 1):
            return


def _send_batches(dispatcher, call_id: int | None) -> None:
    size = voiceotp_settings.SEND_BATCH_SIZE
    while True:
        calls = claims.claim_waiting(call_id, size, timezone.now()) or []
        if not calls:
            return
        call_id = None  # placed, or another job's: the next rounds take what is waiting
        if len(calls) == size:
            # More may be waiting than one job places at a time: another works beside this one
            # while it waits for the provider, so the jobs at work grow with the backlog.
            dispatch.enqueue("send_call", None)
        else:
            # Nothing more was waiting: a call stored from now on publishes a job of its own
            # (it waits for no provider's answer to this batch), and the next round finds those
            # stored before.
            coalescing.release(dispatcher)
        for retried, delay in sending.send_claimed(calls).items():
            dispatch.enqueue("send_call", retried, delay=delay)


def poll_call(call_id: int) -> None:
    """Ask the provider for the result of a sent call, following ``POLL_SCHEDULE``.

    It schedules no next poll: the call's ``next_poll_at`` is stored, and the sweeper hands a
    poll to the queue once it is due.
    """
    results.poll_call(call_id)


def send_redial(call_id: int) -> None:
    """Place a redial once its REDIAL_DELAY is over; a job delivered early does nothing."""
    if delivery.redial_is_due(call_id):
        send_call(call_id)


def run_fallback(call_id: int) -> None:
    """Hand the passcode of a delivery whose last call failed to FALLBACK_SENDER, once; a sender
    that raises is retried with backoff (inline: at once), a bounded number of times."""
    while True:
        retry_in = delivery.run_fallback(call_id)
        if retry_in is None:
            return
        if not dispatch.runs_inline():
            dispatch.enqueue("run_fallback", call_id, delay=retry_in)
            return
        if not delivery.fallback_due_now(call_id):
            return


def poll_pending_calls() -> dict[str, int]:
    """The sweeper: polls calls that are due, re-sends calls whose send was lost, fails calls
    whose passcode is too old to send, runs fallbacks that are due."""
    expired = sweeping.expire_stale_calls()
    delivery.erase_stale_passcodes()
    # A queue that cannot take the work fails the sweep, once (not once per call): the next
    # sweep tries again, and the health check sees no sweeper run meanwhile.
    for call_id in delivery.fallbacks_due():
        dispatch.enqueue("run_fallback", call_id, survive=False)
    to_send = sweeping.calls_due_for_send()
    to_poll = sweeping.calls_due_for_poll()
    for call_id in to_send:
        dispatch.enqueue("send_call", call_id, survive=False)
    for call_id in to_poll:
        dispatch.enqueue("poll_call", call_id, survive=False)
    # One cache write, for the health check: a sweeper that stops running is noticed.
    health.record_sweeper_run()
    if metrics.enabled():
        metrics.calls_waiting(**sweeping.calls_waiting())
        metrics.provider_breakers(breaker.states())
    return {"expired": expired, "sent": len(to_send), "polled": len(to_poll)}


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
