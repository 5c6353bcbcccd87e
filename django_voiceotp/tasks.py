"""The Celery tasks: thin wrappers over ``jobs``, under the names projects route and schedule.

The app hands work to them through ``dispatch`` only (``VOICEOTP["DISPATCHER"] = "celery"``, the
default); install ``poll_pending_calls`` in the beat schedule.
"""

from __future__ import annotations

from celery import shared_task

from . import jobs


@shared_task(ignore_result=True)
def send_call(call_id: int | None = None) -> None:
    """Place the call with the provider; retried with backoff while the provider is unavailable."""
    jobs.send_call(call_id)


@shared_task(ignore_result=True)
def poll_call(call_id: int) -> None:
    """Ask the provider for the result of a sent call, following ``POLL_SCHEDULE``."""
    jobs.poll_call(call_id)


@shared_task(ignore_result=True)
def send_redial(call_id: int) -> None:
    """Place a redial once its REDIAL_DELAY is over; a task delivered early does nothing."""
    jobs.send_redial(call_id)


@shared_task(ignore_result=True)
def run_fallback(call_id: int) -> None:
    """Hand the passcode of a delivery whose last call failed to FALLBACK_SENDER, once."""
    jobs.run_fallback(call_id)


@shared_task(ignore_result=True)
def poll_pending_calls() -> dict[str, int]:
    """The periodic sweeper: polls calls that are due, re-sends calls whose send task was lost,
    fails calls whose passcode is too old to send. Install it in the beat schedule."""
    return jobs.poll_pending_calls()
