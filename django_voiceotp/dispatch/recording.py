"""A dispatcher for tests that records what the app hands to the queue and runs nothing, as
django.core.mail's locmem backend keeps an outbox: ``VOICEOTP["DISPATCHER"] =
"django_voiceotp.dispatch.recording.RecordingDispatcher"``."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from .base import BaseDispatcher


@dataclass(frozen=True)
class Dispatched:
    job: str
    call_id: int | None
    delay: float | None


class RecordingDispatcher(BaseDispatcher):
    # Nothing runs to release the mark of a coalesced send: one job is kept per call instead,
    # so a test sees each call handed over.
    coalesces_sends = False

    def __init__(self) -> None:
        self.outbox: list[Dispatched] = []
        #: The call ids handed over, by job: ``dispatcher.call_ids["send_call"]``.
        self.call_ids: defaultdict[str, list[int | None]] = defaultdict(list)

    def enqueue(self, job: str, call_id: int | None = None, *, delay: float | None = None) -> None:
        self.outbox.append(Dispatched(job, call_id, delay))
        self.call_ids[job].append(call_id)

    def clear(self) -> None:
        self.outbox.clear()
        self.call_ids.clear()
