"""The site as a whole: its budget of calls and messages (``SENDS_PER_HOUR``, ``SENDS_PER_DAY``,
``FALLBACKS_PER_HOUR``, counted in ``counters``) and the kill switch (``SENDING_PAUSED``, or
:func:`pause_sending` from the admin)."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from django.core.cache import caches

from .. import metrics
from ..conf import voiceotp_settings
from ..exceptions import RateLimited
from ..models import Call, failure_reason
from .counters import (
    CALL,
    FALLBACK,
    KEY_PREFIX,
    SITE_LIMITS,
    limits_cache,
    send_limits,
    whole_seconds,
    window_key,
)

logger = logging.getLogger("django_voiceotp")

#: The failure reason of a call not placed because sending is paused (SENDING_PAUSED).
SENDING_PAUSED_REASON = failure_reason(Call.FailureCode.PAUSED)
#: The Retry-After of a refusal while sending is paused: its end is not known; a client asks
#: again after this long.
PAUSED_RETRY_AFTER = 600
PAUSED_KEY = f"{KEY_PREFIX}:paused"


def sending_paused(cache=None) -> bool:
    """Whether every send is refused: ``SENDING_PAUSED``, or the switch in the limits cache
    (:func:`pause_sending`), which takes effect in every process at once, without a deploy."""
    if voiceotp_settings.SENDING_PAUSED:
        return True
    # A flag read, not a counter: any cache will do, so a send never fails on the cache's kind.
    cache = cache if cache is not None else caches[voiceotp_settings.LIMITS_CACHE_ALIAS]
    return bool(cache.get(PAUSED_KEY))


def pause_sending() -> None:
    """Refuse every call and fallback message from now on, until :func:`resume_sending`.

    Kept in the limits cache with no expiry: a cache that is flushed forgets it (the setting
    ``SENDING_PAUSED`` is the pause that survives anything).
    """
    limits_cache().set(PAUSED_KEY, True, timeout=None)
    logger.warning("Sending is paused: no call or fallback message is placed.")


def resume_sending() -> None:
    """Lift the pause set by :func:`pause_sending` (not ``SENDING_PAUSED``, a setting)."""
    limits_cache().delete(PAUSED_KEY)
    logger.warning("Sending is resumed.")


def refuse_if_paused(cache) -> None:
    if sending_paused(cache):
        metrics.limit_refused("paused")
        raise RateLimited(PAUSED_RETRY_AFTER, limit="paused")


@dataclass(frozen=True)
class BudgetUse:
    """How much of one site-wide limit its current window has used."""

    name: str
    used: int
    count: int
    #: Seconds until the window ends.
    resets_in: int

    @property
    def reached(self) -> bool:
        return self.used >= self.count


def site_budget() -> list[BudgetUse]:
    """The site-wide limits that are on, with what their current window has used. Reads only."""
    cache = limits_cache()
    now = time.time()
    budget = [
        limit
        for kind in (CALL, FALLBACK)
        for limit in send_limits("", kind=kind)
        if limit.name in SITE_LIMITS
    ]
    uses = []
    for limit in budget:
        key, window_end = window_key(limit, now)
        used = cache.get(key) or 0
        uses.append(BudgetUse(limit.name, int(used), limit.count, whole_seconds(window_end - now)))
    return uses
