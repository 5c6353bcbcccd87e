"""What a dispatcher is: the one kind of object through which the app hands work to a worker."""

from __future__ import annotations

#: The units of work the app hands to a worker; each runs the function of the same name in
#: ``django_voiceotp.jobs``. All but the sweeper take the id of one call (``send_call`` also
#: None: the calls waiting to be placed).
JOBS = ("send_call", "poll_call", "send_redial", "run_fallback", "poll_pending_calls")


class BaseDispatcher:
    """Hands a job to a queue. Subclasses implement :meth:`enqueue`; the seam around them
    (:mod:`django_voiceotp.dispatch`) decides when, and survives their errors."""

    #: True when enqueued work runs at once, in the caller (Celery's eager mode, Django's
    #: ImmediateBackend): a delayed job is then not enqueued, the sweeper brings it when due.
    runs_inline: bool = False
    #: True when the queue can hold a job until ``delay`` seconds have passed; without it, a
    #: delayed job is not enqueued: its call's stored time makes the sweeper run it when due.
    supports_delay: bool = True
    #: True when new calls may share one send job (``dispatch.coalescing``): a burst publishes
    #: a job per batch. False publishes one job per call, each placing its call with any others
    #: waiting (a batch all the same).
    coalesces_sends: bool = True

    def enqueue(self, job: str, call_id: int | None = None, *, delay: float | None = None) -> None:
        raise NotImplementedError
