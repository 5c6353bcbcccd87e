"""Placing claimed calls at their providers: one at a time, or a batch at once over the shared
connection pool, each failing over along ``FAILOVER`` when a provider cannot place it.

Only the provider's request runs on the placing threads: every move of a call (to another
provider) is made in the caller's thread, so the threads need no database connection of their
own.
"""

from __future__ import annotations

import logging
import os
import threading
from collections import Counter
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import timedelta

from django.utils import timezone

from . import breaker
from .callback_urls import callback_url_for
from .campaigns import campaign_for
from .claims import send_lease
from .conf import voiceotp_settings
from .exceptions import ProviderRejected, ProviderUnavailable
from .models import Call
from .payloads import loggable
from .phone import ProviderNumber
from .providers import StartedCall, get_provider
from .sealing import open_otp

logger = logging.getLogger("django_voiceotp")

#: What placing one call came to: the provider's answer, or why it was not placed.
Outcome = StartedCall | Exception


class CallMoved(Exception):
    """The claimed call changed under this attempt (another attempt took it): place nothing."""


def failover_order(provider: str) -> list[str]:
    """The providers a call of ``provider`` may be placed at, in turn: its own, then those after
    it in ``FAILOVER`` (all of ``FAILOVER`` when it is not among them)."""
    order = list(voiceotp_settings.FAILOVER or ())
    after = order[order.index(provider) + 1 :] if provider in order else order
    return [provider] + [name for name in after if name != provider]


def place(call: Call) -> StartedCall:
    """Place the claimed call at its provider, or at the next of ``FAILOVER`` when one cannot
    place it: its breaker is open, or it failed in a way that proves it placed nothing.

    A call one provider may have placed (a timeout after the request was sent) stays where it
    is, for that provider's retries, so the person is never called twice.
    """
    breakers = _Breakers()
    try:
        return _finish(_Placement(call, breakers))
    finally:
        breakers.report()


def place_all(calls: list[Call]) -> list[tuple[Call, Outcome]]:
    """Place claimed calls concurrently; each call's outcome, in the order given.

    One call is placed in the caller's thread: a call placed at idle waits for no thread.
    """
    if len(calls) == 1:
        return [(calls[0], _outcome(place, calls[0]))]
    breakers = _Breakers()
    try:
        return _place_concurrently(calls, breakers)
    finally:
        breakers.report()


def _place_concurrently(calls: list[Call], breakers: _Breakers) -> list[tuple[Call, Outcome]]:
    started: list[tuple[_Placement, str, Future | Exception]] = []
    for call in calls:
        placement = _Placement(call, breakers)
        try:
            name = placement.next_provider()
        except Exception as err:  # noqa: BLE001 -- settled per call by the caller
            started.append((placement, "", err))
        else:
            started.append((placement, name, _executor().submit(placement.attempt, name)))
    outcomes: list[tuple[Call, Outcome]] = []
    for placement, name, future in started:
        outcome: Outcome
        if isinstance(future, Exception):
            outcome = future
        else:
            try:
                outcome = future.result()
            except Exception as err:  # noqa: BLE001 -- settled per call by the caller
                outcome = err
            breakers.record(name, outcome)
            if isinstance(outcome, ProviderUnavailable) and placement.may_fail_over(outcome):
                # Its next provider, in this thread: a move is a write to the database.
                outcome = _outcome(_finish, placement)
        outcomes.append((placement.call, outcome))
    return outcomes


class _Breakers:
    """The circuit breakers as one placement or batch sees them: a provider found closed is not
    asked again, and each provider's outcomes are reported once the placing is over (one
    success for a provider that answered any call; else each time it was unavailable), so a
    batch costs the cache a few requests, not a few per call."""

    def __init__(self) -> None:
        self._closed: set[str] = set()
        self._answered: set[str] = set()
        self._unavailable: Counter[str] = Counter()

    def allows(self, name: str) -> bool:
        if name in self._closed or breaker.is_closed(name):
            self._closed.add(name)
            return True
        return breaker.allows(name)  # open, or half-open: the probe is won call by call

    def record(self, name: str, outcome: Outcome) -> None:
        if isinstance(outcome, ProviderUnavailable):
            self._unavailable[name] += 1
        elif isinstance(outcome, (StartedCall, ProviderRejected)):
            self._answered.add(name)  # a refusal is an answer: available

    def report(self) -> None:
        for name in self._answered:
            breaker.succeeded(name)
        for name, times in self._unavailable.items():
            if name not in self._answered:
                for _ in range(times):
                    breaker.failed(name)


class _Placement:
    """One call's way along its providers: which to try next, and trying one."""

    def __init__(self, call: Call, breakers: _Breakers) -> None:
        self.call = call
        self.breakers = breakers
        self._order = failover_order(call.provider)
        self._next = 0

    def next_provider(self) -> str:
        """The next provider to try, the call moved to it (this thread: a database write).

        The last is tried whatever its breaker says: the call has nowhere else to go (and with
        one provider, the breaker changes nothing of how its calls are sent).
        """
        last = self._order[-1]
        while True:
            name = self._order[self._next]
            self._next += 1
            if name != last and not self.breakers.allows(name):
                logger.info(
                    "Call %s: the circuit breaker of %s is open; skipped.", self.call.pk, name
                )
                continue
            if name != self.call.provider:
                try:
                    _move(self.call, name)
                except ProviderUnavailable:
                    if name == last:
                        raise
                    logger.warning(
                        "Call %s: provider %s has no DEFAULT_CAMPAIGN.", self.call.pk, name
                    )
                    continue
            return name

    def attempt(self, name: str) -> StartedCall:
        """Ask provider ``name`` to place the call; any thread (no database, no cache: the
        caller records the outcome with its breakers)."""
        call = self.call
        return get_provider(name).start_call(
            call.campaign.campaign_id,
            ProviderNumber(call.phone_number),  # normalised by send_otp: not parsed again
            open_otp(call.otp),
            callback_url=callback_url_for(call),
        )

    def may_fail_over(self, err: ProviderUnavailable) -> bool:
        """Whether the call goes on to the next provider after ``err``: only when the failure
        proves nothing was placed, and a provider is left."""
        if not err.placed_nothing or self._next >= len(self._order):
            return False
        logger.warning(
            "Call %s: provider %s placed nothing (%s); failing over.",
            self.call.pk,
            self.call.provider,
            loggable(err),
        )
        return True


def _finish(placement: _Placement) -> StartedCall:
    while True:
        name = placement.next_provider()
        try:
            started = placement.attempt(name)
        except Exception as err:
            placement.breakers.record(name, err)
            if not (isinstance(err, ProviderUnavailable) and placement.may_fail_over(err)):
                raise
        else:
            placement.breakers.record(name, started)
            return started


def _outcome(place_one, subject) -> Outcome:
    try:
        return place_one(subject)
    except Exception as err:  # noqa: BLE001 -- settled per call by the caller
        return err


def _move(call: Call, provider: str) -> None:
    """Give the claimed call to ``provider``, with that provider's campaign: the call's own if it
    belongs to it, else the provider's ``DEFAULT_CAMPAIGN``.

    One guarded update of the row (provider, campaign, a fresh lease), made only while this
    attempt still holds the claim: a call is never in two attempts' hands.
    """
    campaign = call.campaign
    if campaign.provider != provider:
        campaign_id = get_provider(provider).option("DEFAULT_CAMPAIGN")
        if not campaign_id:
            raise ProviderUnavailable(
                f"Provider {provider} has no DEFAULT_CAMPAIGN to place the call in.",
                placed_nothing=True,
            )
        campaign = campaign_for(str(campaign_id), provider)
    lease_until = timezone.now() + timedelta(seconds=send_lease())
    moved = Call.objects.filter(
        pk=call.pk, status=Call.Status.PENDING, send_attempts=call.send_attempts
    ).update(provider=provider, campaign=campaign, next_attempt_at=lease_until)
    if not moved:
        raise CallMoved
    call.provider, call.campaign, call.next_attempt_at = provider, campaign, lease_until


#: Provider requests a process has in flight at most: the batches of several jobs at once
#: (a worker's threads each run one), within the provider session's pooled connections.
PLACING_THREADS = 64

# The placing threads of this process, made when first needed (a pool made before a worker
# forks would have no threads in the child) and again when SEND_BATCH_SIZE changes.
_pool: tuple[int, int, ThreadPoolExecutor] | None = None
_pool_lock = threading.Lock()


def _executor() -> ThreadPoolExecutor:
    global _pool
    key = (os.getpid(), max(PLACING_THREADS, voiceotp_settings.SEND_BATCH_SIZE))
    pool = _pool
    if pool is None or pool[:2] != key:
        with _pool_lock:
            pool = _pool
            if pool is None or pool[:2] != key:
                executor = ThreadPoolExecutor(
                    max_workers=key[1], thread_name_prefix="voiceotp-place"
                )
                pool = _pool = (*key, executor)
    return pool[2]
