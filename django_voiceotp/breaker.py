"""A circuit breaker per voice provider, its state shared by every process through the cache.

After ``BREAKER_THRESHOLD`` consecutive "unavailable" outcomes a provider is **open**: sends skip
it for ``BREAKER_COOLDOWN`` seconds. Then it is **half-open**: one send (the process whose cache
``add`` wins) probes it; a success closes it, a failure opens it again for another cool-down.

The state lives in the limits cache (``LIMITS_CACHE_ALIAS``), changed only by ``add``, ``incr``
and ``delete``, which are atomic where the limits' counters are: so each change of state is made,
and logged, by one process only.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .claims import send_lease
from .conf import voiceotp_settings
from .limits.counters import limits_cache, non_atomic_cache_backend
from .providers import provider_entries

logger = logging.getLogger("django_voiceotp")

KEY_PREFIX = "voiceotp:breaker"
CLOSED, OPEN, HALF_OPEN = "closed", "open", "half-open"


@dataclass(frozen=True)
class BreakerState:
    """What a provider's breaker says now: its state and the unavailable outcomes in a row."""

    provider: str
    state: str
    failures: int
    #: While open: seconds until a probe may test the provider.
    retry_in: float = 0.0

    @property
    def is_open(self) -> bool:
        return self.state != CLOSED


def _never_raises(default: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """A breaker's bookkeeping never stops a send: a cache that fails (Redis down) is logged, by
    the error's class only (its message may hold the cache's address), and the send goes on as
    if the breaker were closed. Above all, a call already placed must still be marked sent."""

    def decorate(function: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(function)
        def guarded(provider: str) -> Any:
            try:
                return function(provider)
            except Exception as error:  # noqa: BLE001 -- whatever the cache raises
                logger.warning(
                    "Provider %s: the circuit breaker cannot be read or written: %s",
                    provider,
                    type(error).__name__,
                )
                return default

        return guarded

    return decorate


def _key(provider: str, part: str) -> str:
    return f"{KEY_PREFIX}:{provider}:{part}"


def enabled() -> bool:
    """On unless ``BREAKER_THRESHOLD`` is 0, or the limits cache cannot share a count (a
    database, file-based or dummy cache, which the limits refuse too: check E010)."""
    return bool(voiceotp_settings.BREAKER_THRESHOLD) and not non_atomic_cache_backend(
        voiceotp_settings.LIMITS_CACHE_ALIAS
    )


def state(provider: str) -> BreakerState:
    """The breaker of ``provider`` as the cache holds it (the admin, checks and metrics read it)."""
    if not enabled():
        return BreakerState(provider, CLOSED, 0)
    cache = limits_cache()
    failures = cache.get(_key(provider, "failures")) or 0
    opened_at = cache.get(_key(provider, "opened"))
    if opened_at is None:
        return BreakerState(provider, CLOSED, failures)
    retry_in = opened_at + voiceotp_settings.BREAKER_COOLDOWN - time.time()
    if retry_in > 0:
        return BreakerState(provider, OPEN, failures, retry_in)
    return BreakerState(provider, HALF_OPEN, failures)


@_never_raises(default=True)
def allows(provider: str) -> bool:
    """Whether a send may call ``provider`` now: closed, or half-open and this send won the one
    probe. A send that is allowed must report its outcome (:func:`succeeded`, :func:`failed`)."""
    if not enabled():
        return True
    cache = limits_cache()
    opened_at = cache.get(_key(provider, "opened"))
    if opened_at is None:
        return True
    if time.time() < opened_at + voiceotp_settings.BREAKER_COOLDOWN:
        return False
    # Half-open: one probe at a time across processes. The probe's key outlives a send that
    # died mid-request by a cool-down, so a lost probe does not hold the breaker open for ever.
    if not cache.add(_key(provider, "probe"), time.time(), timeout=_probe_timeout()):
        return False
    if cache.get(_key(provider, "opened")) != opened_at:
        # The probe before ours failed between our read and our add, and opened the breaker
        # for a new cool-down: the key we took belongs to that period's probe, not to us.
        cache.delete(_key(provider, "probe"))
        return False
    return True


@_never_raises(default=False)
def is_closed(provider: str) -> bool:
    """Whether ``provider``'s breaker is closed now: its calls go through with no probe to win.
    False when the cache cannot say (``allows`` then decides)."""
    return not enabled() or limits_cache().get(_key(provider, "opened")) is None


@_never_raises(default=None)
def succeeded(provider: str) -> None:
    """The provider placed a call: the unavailable outcomes in a row start again from 0, and an
    open breaker closes (this send was its probe, or the last provider, tried all the same)."""
    if not enabled():
        return
    cache = limits_cache()
    failures, opened = _key(provider, "failures"), _key(provider, "opened")
    # One read on the common path (a closed breaker, no failure counted): every call placed.
    found = cache.get_many([failures, opened])
    if found.get(failures):
        cache.delete(failures)
    if found.get(opened) is not None and cache.delete(opened):
        cache.delete(_key(provider, "probe"))
        logger.warning("Provider %s: circuit breaker closed (a call was placed).", provider)


@_never_raises(default=None)
def failed(provider: str) -> None:
    """The provider was unavailable: counted; the outcome that reaches ``BREAKER_THRESHOLD`` in a
    row opens the breaker, and a probe that fails opens it again."""
    if not enabled():
        return
    cache = limits_cache()
    now = time.time()
    if cache.get(_key(provider, "opened")) is not None:
        # Only the probe calls an open provider: its failure starts a new cool-down.
        if cache.delete(_key(provider, "probe")):
            cache.set(_key(provider, "opened"), now, timeout=None)
            logger.warning(
                "Provider %s: circuit breaker open again for %s s (the probe call failed).",
                provider,
                voiceotp_settings.BREAKER_COOLDOWN,
            )
        return
    key = _key(provider, "failures")
    cache.add(key, 0, timeout=None)
    try:
        count = cache.incr(key)
    except ValueError:  # evicted between add and incr
        cache.add(key, 1, timeout=None)
        count = 1
    # Exactly the threshold: one process sees it, and that one opens the breaker.
    if count == voiceotp_settings.BREAKER_THRESHOLD and cache.add(
        _key(provider, "opened"), now, timeout=None
    ):
        logger.warning(
            "Provider %s: circuit breaker open for %s s after %s unavailable outcomes in a row.",
            provider,
            voiceotp_settings.BREAKER_COOLDOWN,
            count,
        )


def trip(provider: str) -> None:
    """Open the breaker of ``provider`` now, for a cool-down (an operator taking it out of use:
    its calls go to the next provider of ``FAILOVER``); :func:`reset` closes it."""
    cache = limits_cache()
    cache.delete(_key(provider, "probe"))
    cache.set(_key(provider, "opened"), time.time(), timeout=None)
    logger.warning(
        "Provider %s: circuit breaker opened by hand for %s s.",
        provider,
        voiceotp_settings.BREAKER_COOLDOWN,
    )


def states() -> list[BreakerState]:
    """The breaker of every provider, in the order of ``PROVIDERS``."""
    return [state(name) for name in provider_entries()]


def reset(provider: str) -> None:
    """Forget the breaker of ``provider`` (closed, no failure counted)."""
    limits_cache().delete_many([_key(provider, part) for part in ("failures", "opened", "probe")])


def _probe_timeout() -> int:
    return int(max(send_lease(), voiceotp_settings.BREAKER_COOLDOWN)) + 1
