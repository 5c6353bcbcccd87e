"""Dispatchers for tests that simulate a queue losing work (the recording one is the app's own)."""

from __future__ import annotations

from django_voiceotp.dispatch.celery import CeleryDispatcher


class FirstSendLost(CeleryDispatcher):
    """Celery, except that the first send of each call is lost on its way, as by a broker that
    was down: what the sweeper hands over later arrives."""

    def __init__(self) -> None:
        self.lost: set[int | None] = set()

    def enqueue(self, job: str, call_id: int | None = None, *, delay: float | None = None) -> None:
        if job == "send_call" and call_id not in self.lost:
            self.lost.add(call_id)
            return
        super().enqueue(job, call_id, delay=delay)
