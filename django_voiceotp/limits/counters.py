"""Fixed-window counters in the limits cache: which counters a send uses, how one is counted and
given back, and the cache they live in.

Counters live in the Django cache named by ``LIMITS_CACHE_ALIAS`` and change only through its
``add``, ``incr`` and ``decr``. Those are atomic on Redis, Memcached and LocMemCache (in one
process); on the database, file-based and dummy caches they are a read then a write (or
nothing), so concurrent requests would all pass: those caches are refused.
"""

from __future__ import annotations

import hashlib
import ipaddress
import logging
import math
from dataclasses import dataclass

from django.core.cache import caches
from django.core.cache.backends.db import DatabaseCache
from django.core.cache.backends.dummy import DummyCache
from django.core.cache.backends.filebased import FileBasedCache

from .. import metrics
from ..conf import SETTINGS_NAME, voiceotp_settings
from ..exceptions import ImproperlyConfigured, RateLimited

logger = logging.getLogger("django_voiceotp")

KEY_PREFIX = "voiceotp:limit"

#: What a send costs: a voice call (the site's SENDS_PER_* budget) or a fallback message.
CALL, FALLBACK = "call", "fallback"
#: The limits of the whole site: reaching one is logged as an ERROR once per window.
SITE_LIMITS = ("site_hour", "site_day", "fallback_hour")
SITE_SUBJECT = "site"

#: Cache backends whose ``add``/``incr`` are not atomic (a read, then a write) or do nothing:
#: concurrent requests would all pass a limit. Subclasses are refused too.
NON_ATOMIC_CACHES = (DatabaseCache, FileBasedCache, DummyCache)


@dataclass(frozen=True)
class Limit:
    """At most ``count`` sends per ``window`` seconds for one subject (a number or a client)."""

    name: str
    subject: str
    count: int
    window: int


def send_limits(
    phone_number: str, client_ip: str | None = None, *, owner: bool = False, kind: str = CALL
) -> list[Limit]:
    """The counters one send uses, most general first. A limit set to 0 or None is off.

    Calls and fallback messages share the per-client and per-number counters; the site counts
    them apart (``SENDS_PER_HOUR``/``SENDS_PER_DAY`` for calls, ``FALLBACKS_PER_HOUR``).
    """
    day, hour = 24 * 3600, 3600
    settings = voiceotp_settings
    if kind == CALL:
        site = [
            Limit("site_day", SITE_SUBJECT, settings.SENDS_PER_DAY, day),
            Limit("site_hour", SITE_SUBJECT, settings.SENDS_PER_HOUR, hour),
        ]
    else:
        site = [Limit("fallback_hour", SITE_SUBJECT, settings.FALLBACKS_PER_HOUR, hour)]
    candidates = [
        *site,
        # Not "if client_ip": an empty or unparsable address is a subject too (fail closed).
        Limit("ip_hour", ip_subject(client_ip), settings.SENDS_PER_IP_PER_HOUR, hour)
        if client_ip is not None
        else None,
        Limit("number_day", phone_number, number_day_count(owner=owner), day),
        Limit("number_hour", phone_number, settings.SENDS_PER_NUMBER_PER_HOUR, hour),
    ]
    return [limit for limit in candidates if limit and limit.count]


def number_day_count(*, owner: bool) -> int:
    """How far a client may fill a number's day counter: all of ``SENDS_PER_NUMBER_PER_DAY``
    for its owner, less ``SENDS_RESERVED_FOR_OWNER_PER_DAY`` for anyone else.

    Owner and strangers fill the same counter: what strangers cannot reach is the owner's
    share. At least one send is left to strangers, since a first-time owner is one of them.
    """
    per_day = voiceotp_settings.SENDS_PER_NUMBER_PER_DAY
    reserved = voiceotp_settings.SENDS_RESERVED_FOR_OWNER_PER_DAY
    if not per_day:
        return 0
    if not reserved or owner:
        return per_day
    return max(per_day - reserved, 1)


def count_against(cache, limits: list[Limit], now: float) -> list[str]:
    """Add one to each limit's counter; if any is over its count, take them all back and raise
    ``RateLimited``. Returns the keys counted."""
    taken: list[str] = []
    waits: list[tuple[int, str]] = []
    used_up: list[tuple[Limit, str, float, int]] = []
    for limit in limits:
        key, window_end = window_key(limit, now)
        # The key outlives its window a little, so a late incr never finds it gone mid-window.
        cache.add(key, 0, timeout=math.ceil(window_end - now) + 60)
        try:
            count = cache.incr(key)
        except ValueError:  # evicted between add and incr: count from here
            cache.add(key, 1, timeout=math.ceil(window_end - now) + 60)
            count = 1
        taken.append(key)
        if count > limit.count:
            waits.append((whole_seconds(window_end - now), limit.name))
        if limit.name in SITE_LIMITS and count >= limit.count:
            used_up.append((limit, key, window_end, count))
    for limit, key, window_end, count in used_up:
        # Reached by the send that takes its last unit (the DRF throttle refuses the next ones
        # early, without counting), or by one it refuses; not by a send another limit refuses.
        if count > limit.count or not waits:
            _site_budget_reached(cache, limit, key, window_end, now)
    if waits:
        give_back(cache, taken)
        raise refusal(waits)
    return taken


def _site_budget_reached(cache, limit: Limit, key: str, window_end: float, now: float) -> None:
    """Log an ERROR (operators alert on it) and count the metric once per window, however many
    requests the budget refuses: ``add`` lets one process through per window."""
    if cache.add(f"{key}:reached", now, timeout=math.ceil(window_end - now) + 60):
        metrics.site_budget_reached(limit.name)
        logger.error(
            "The site budget %s (%s per %s s) is reached: no more %s are placed until its window "
            "ends in %s s.",
            limit.name,
            limit.count,
            limit.window,
            "fallback messages" if limit.name == "fallback_hour" else "calls",
            whole_seconds(window_end - now),
            extra={"event": "site_budget_reached", "limit": limit.name},
        )


def refusal(waits: list[tuple[int, str]]) -> RateLimited:
    """The refusal for the limits that refuse: the longest wait among them, counted by name."""
    retry_after, name = max(waits)
    metrics.limit_refused(name)
    return RateLimited(retry_after, limit=name)


def exhausted(cache, limits: list[Limit], now: float) -> list[tuple[int, str]]:
    """The limits whose counter is already full, with the wait until their window ends."""
    waits = []
    for limit in limits:
        key, window_end = window_key(limit, now)
        if (cache.get(key) or 0) >= limit.count:
            waits.append((whole_seconds(window_end - now), limit.name))
    return waits


def ip_subject(client_ip: str) -> str:
    """What an address is counted as: itself for IPv4; its /64 for IPv6, since one subscriber
    usually holds a whole /64 and could otherwise switch address for every request.

    Any other string (``""``, ``"unknown"``, a socket path) is counted as itself: one subject
    shared by every client it stands for, never none."""
    try:
        address = ipaddress.ip_address(client_ip)
    except ValueError:
        return client_ip
    if address.version == 6:
        if address.ipv4_mapped:
            return str(address.ipv4_mapped)
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)


def window_key(limit: Limit, now: float) -> tuple[str, float]:
    """Fixed windows (clock hours, UTC days): one counter per window, no history to keep.

    Across a window's end a subject may get up to twice its count in a short time; the
    per-number cooldown still spaces those calls.
    """
    window_start = now // limit.window * limit.window
    key = f"{counter_key(limit.name, limit.subject)}:{int(window_start)}"
    return key, window_start + limit.window


def counter_key(name: str, subject: str) -> str:
    # Hashed: cache keys must be short and plain, and the cache need not hold phone numbers.
    digest = hashlib.sha256(subject.encode()).hexdigest()[:32]
    return f"{KEY_PREFIX}:{name}:{digest}"


def give_back(cache, taken: list[str], cooldown_key: str | None = None) -> None:
    for key in taken:
        if key == cooldown_key:
            cache.delete(key)
        else:
            try:
                cache.decr(key)
            except ValueError:  # expired meanwhile: nothing left to give back
                pass


def whole_seconds(value: float) -> int:
    return max(1, math.ceil(value))


def non_atomic_cache_backend(alias: str) -> str | None:
    """The class name of the ``alias`` cache if its counters cannot be atomic, else None."""
    cache = caches[alias]
    return type(cache).__name__ if isinstance(cache, NON_ATOMIC_CACHES) else None


def limits_cache():
    alias = voiceotp_settings.LIMITS_CACHE_ALIAS
    backend = non_atomic_cache_backend(alias)
    if backend:
        # Refused, not tolerated: on these backends every concurrent request would pass.
        raise ImproperlyConfigured(
            f"{SETTINGS_NAME}['LIMITS_CACHE_ALIAS'] names the {alias!r} cache, a {backend}: "
            "its add and incr are not atomic, so the abuse limits would not hold. Use Redis, "
            "Memcached, or (one process only) LocMemCache."
        )
    return caches[alias]
