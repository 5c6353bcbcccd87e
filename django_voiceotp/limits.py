"""The admission gate: which numbers may be called, how often, and from which client.

Every entry point that places a call for a code (``request_code``, the HTTP API, the django-otp
device, the two-factor gateway) goes through :func:`admit`: it parses the number once, applies
the destination policy, counts the send against the abuse limits, and hands back the number to
call. Voice calls cost money and are what toll fraudsters abuse most, so every limit is on by
default.

Counters live in the Django cache named by ``LIMITS_CACHE_ALIAS`` and change only through its
``add``, ``incr`` and ``decr``. Those are atomic on Redis, Memcached and LocMemCache (in one
process); on the database, file-based and dummy caches they are a read then a write (or
nothing), so concurrent requests would all pass: those caches are refused.

What costs money is counted, not only codes: the first call of a code (here, in
:func:`admit`), every redial and every fallback message (:func:`consume_follow_up`, from the
delivery policy), and an operator's "call again". Above the per-number and per-client limits
stand a site-wide budget (``SENDS_PER_HOUR``, ``SENDS_PER_DAY``, ``FALLBACKS_PER_HOUR``) and a
kill switch (``SENDING_PAUSED``, or :func:`pause_sending` from the admin). docs/limits.rst
states what one code may cost at most.
"""

from __future__ import annotations

import hashlib
import ipaddress
import logging
import math
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

import phonenumbers
from django.core.cache import caches
from django.core.cache.backends.db import DatabaseCache
from django.core.cache.backends.dummy import DummyCache
from django.core.cache.backends.filebased import FileBasedCache

from . import metrics, testnumbers
from .conf import SETTINGS_NAME, voiceotp_settings
from .exceptions import ImproperlyConfigured, InvalidPhoneNumber, PhoneNumberNotAllowed, RateLimited
from .models import Call, failure_reason
from .phone import ProviderNumber, format_phone_number, parse_phone_number

logger = logging.getLogger("django_voiceotp")

KEY_PREFIX = "voiceotp:limit"
#: The one subject every client of unknown address is counted as (``throttling.client_ip``).
UNKNOWN_CLIENT = "unknown"

#: The failure reason of a call whose redial or fallback a limit refused: the delivery ends.
SPENDING_LIMIT_REASON = failure_reason(Call.FailureCode.LIMITED)
#: The failure reason of a call not placed because sending is paused (SENDING_PAUSED).
SENDING_PAUSED_REASON = failure_reason(Call.FailureCode.PAUSED)
#: The Retry-After of a refusal while sending is paused: its end is not known; a client asks
#: again after this long.
PAUSED_RETRY_AFTER = 600

#: What a send costs: a voice call (the site's SENDS_PER_* budget) or a fallback message.
CALL, FALLBACK = "call", "fallback"
#: The limits of the whole site: reaching one is logged as an ERROR once per window.
SITE_LIMITS = ("site_hour", "site_day", "fallback_hour")
SITE_SUBJECT = "site"
PAUSED_KEY = f"{KEY_PREFIX}:paused"

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


@dataclass(frozen=True)
class Payer:
    """Whom the redials and fallback of a code are counted against: the client that asked for
    the code (None when none is known) and whether it was the number's owner."""

    client_ip: str | None = None
    owner: bool = False


#: The admission in progress (inside ``admit``'s block): ``send_otp`` records it for the call.
_admission: ContextVar[Payer | None] = ContextVar("voiceotp_admission", default=None)


class AllowedNumber(ProviderNumber):
    """A number in the form sent to the provider, that the gate has parsed and allowed.

    A ``str``, so it goes wherever a number goes (a model field, ``send_otp``); its type tells
    the gate and ``send_otp`` that it needs no parsing again.

    ``fixed_code`` is the code of a number of ``TEST_NUMBERS`` (else None), decided here once so
    every door treats it alike: no call placed (``testnumbers.create_test_call``), that code
    checked. It never shows in the ``str`` or ``repr``.
    """

    fixed_code: str | None

    def __new__(cls, value: str, *, fixed_code: str | None = None) -> AllowedNumber:
        number = super().__new__(cls, value)
        number.fixed_code = fixed_code
        return number

    @property
    def is_test(self) -> bool:
        """A number of ``TEST_NUMBERS``: it gets ``fixed_code`` and no call."""
        return self.fixed_code is not None


# -- the gate ------------------------------------------------------------------------------------


def allowed_number(phone_number: str) -> AllowedNumber:
    """Parse ``phone_number`` (any common spelling) once and apply the destination policy.

    Counts nothing: a form validates with it, and :func:`admit` counts later without parsing
    again. An :class:`AllowedNumber` is returned as it is. A number of ``TEST_NUMBERS`` comes
    back with its ``fixed_code``.

    :raises InvalidPhoneNumber: for what is not a callable number (``PhoneNumberNotAllowed``
        for one this site does not call).
    """
    if isinstance(phone_number, AllowedNumber):
        return phone_number
    try:
        number = parse_phone_number(phone_number)
    except InvalidPhoneNumber:
        # Not a valid number: a test number may still lie outside the ranges assigned to
        # operators, so nobody's line, and is never called. The number-type rule (what a call
        # may cost) has nothing to judge there; the country and prefix rules do.
        test_number = testnumbers.find(phone_number)
        if test_number is None:
            raise
    else:
        check_destination(number)
        form = format_phone_number(number)
        return AllowedNumber(form, fixed_code=testnumbers.fixed_code_for(form))
    check_country_and_prefix(test_number.number)
    return AllowedNumber(test_number.form, fixed_code=test_number.code)


@contextmanager
def admit(
    phone_number: str, *, client_ip: str | None = None, owner: bool = False
) -> Iterator[AllowedNumber]:
    """The admission gate: parse the number once, apply the destination policy, count one send
    against the limits, and hand back the number to call.

    Place the call inside the ``with`` block: if it raises, the quota is given back. A call
    stored inside the block (``send_otp``) remembers who asked, so its redials and fallback are
    counted against the same client.

    :param phone_number: any common spelling, or an :class:`AllowedNumber` (not parsed again).
    :param client_ip: the client asking, counted against ``SENDS_PER_IP_PER_HOUR``: an address,
        or any other string naming a shared subject (such as ``"unknown"``); None counts no
        client.
    :param owner: the caller recognised the client as one that verified this number before: it
        may use the number's whole day, ``SENDS_RESERVED_FOR_OWNER_PER_DAY`` included.
    :raises InvalidPhoneNumber: (``PhoneNumberNotAllowed`` for a number this site does not
        call) before anything is counted.
    :raises RateLimited: with ``retry_after`` seconds, when a limit refuses; place no call.
    """
    number = allowed_number(phone_number)
    with consume_send(number, client_ip, owner=owner):
        admission = _admission.set(Payer(client_ip, owner))
        try:
            yield number
        finally:
            _admission.reset(admission)


# -- which numbers -------------------------------------------------------------------------------


def check_destination(number: phonenumbers.PhoneNumber) -> None:
    """Refuse numbers this site does not call.

    :raises PhoneNumberNotAllowed: for a country outside ``ALLOWED_COUNTRY_CODES``, a number
        starting with one of ``DENIED_PREFIXES`` (E.164, e.g. ``+841900``), or one of a type
        outside ``ALLOWED_NUMBER_TYPES`` (by default mobile and fixed line: toll-free, shared
        cost, VoIP, premium-rate and the like are refused).
    """
    check_country_and_prefix(number)
    allowed_types = allowed_number_types()
    if allowed_types is not None and phonenumbers.number_type(number) not in allowed_types:
        raise PhoneNumberNotAllowed("Numbers of this type cannot be called.")


def check_country_and_prefix(number: phonenumbers.PhoneNumber) -> None:
    """The destination rules that hold for every number, test numbers included.

    :raises PhoneNumberNotAllowed: for a country outside ``ALLOWED_COUNTRY_CODES`` or a number
        starting with one of ``DENIED_PREFIXES``.
    """
    allowed = voiceotp_settings.ALLOWED_COUNTRY_CODES
    if allowed is not None and number.country_code not in {int(code) for code in allowed}:
        raise PhoneNumberNotAllowed("Numbers of this country cannot be called.")
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    if any(e164.startswith(prefix) for prefix in voiceotp_settings.DENIED_PREFIXES or ()):
        raise PhoneNumberNotAllowed("This number cannot be called.")


def allowed_number_types() -> set[int] | None:
    """``ALLOWED_NUMBER_TYPES`` as phonenumbers' values, or None for every type.

    :raises ImproperlyConfigured: naming a type phonenumbers does not know.
    """
    names = voiceotp_settings.ALLOWED_NUMBER_TYPES
    if names is None:
        return None
    try:
        return {getattr(phonenumbers.PhoneNumberType, name) for name in names}
    except (AttributeError, TypeError) as err:
        raise ImproperlyConfigured(
            f"{SETTINGS_NAME}['ALLOWED_NUMBER_TYPES'] must name types of "
            "phonenumbers.PhoneNumberType, such as ('MOBILE', 'FIXED_LINE')."
        ) from err


# -- how often -----------------------------------------------------------------------------------


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


@contextmanager
def consume_send(
    phone_number: str, client_ip: str | None = None, *, owner: bool = False
) -> Iterator[None]:
    """Count one send to ``phone_number`` from ``client_ip``, or raise ``RateLimited``.

    The ``retry_after`` of a refusal is the longest wait among the limits that refuse. A
    refused request uses none of its quota, and neither does one whose body raises (the call
    was not placed): what was counted is given back.

    :raises RateLimited: before the body runs; nothing should be sent then.
    """
    cache = _cache()
    now = time.time()
    _refuse_if_paused(cache)
    taken: list[str] = []

    cooldown = voiceotp_settings.RESEND_COOLDOWN
    cooldown_key = _key("cooldown", phone_number)
    limits = send_limits(phone_number, client_ip, owner=owner)
    if cooldown:
        # add() is atomic: of two requests at once, one sets the key and the other is refused.
        if cache.add(cooldown_key, now, timeout=math.ceil(cooldown)):
            taken.append(cooldown_key)
        else:
            started = cache.get(cooldown_key)
            started = started if isinstance(started, (int, float)) else now
            # Refused already: the counters are read, not counted, so a burst of requests
            # for one number does not inflate them for the requests that come after it.
            waits = [(_seconds(started + cooldown - now), "cooldown")]
            waits += _exhausted(cache, limits, now)
            raise _refusal(waits)

    try:
        taken += _count(cache, limits, now)
    except RateLimited:
        _give_back(cache, taken, cooldown_key)
        raise
    try:
        yield
    except BaseException:
        _give_back(cache, taken, cooldown_key)
        raise


@contextmanager
def consume_follow_up(
    phone_number: str,
    *,
    client_ip: str | None = None,
    owner: bool = False,
    kind: str = CALL,
) -> Iterator[None]:
    """Count a redial, a fallback message (``kind=FALLBACK``) or a call placed again, or raise
    ``RateLimited``: the same counters as a first call, without the cooldown (which spaces the
    requests for new codes, not the attempts to deliver one). Given back if the body raises.

    :raises RateLimited: before the body runs; nothing should be sent then.
    """
    cache = _cache()
    now = time.time()
    _refuse_if_paused(cache)
    taken = _count(cache, send_limits(phone_number, client_ip, owner=owner, kind=kind), now)
    try:
        yield
    except BaseException:
        _give_back(cache, taken)
        raise


def _count(cache, limits: list[Limit], now: float) -> list[str]:
    """Add one to each limit's counter; if any is over its count, take them all back and raise
    ``RateLimited``. Returns the keys counted."""
    taken: list[str] = []
    waits: list[tuple[int, str]] = []
    used_up: list[tuple[Limit, str, float, int]] = []
    for limit in limits:
        key, window_end = _window_key(limit, now)
        # The key outlives its window a little, so a late incr never finds it gone mid-window.
        cache.add(key, 0, timeout=math.ceil(window_end - now) + 60)
        try:
            count = cache.incr(key)
        except ValueError:  # evicted between add and incr: count from here
            cache.add(key, 1, timeout=math.ceil(window_end - now) + 60)
            count = 1
        taken.append(key)
        if count > limit.count:
            waits.append((_seconds(window_end - now), limit.name))
        if limit.name in SITE_LIMITS and count >= limit.count:
            used_up.append((limit, key, window_end, count))
    for limit, key, window_end, count in used_up:
        # Reached by the send that takes its last unit (the DRF throttle refuses the next ones
        # early, without counting), or by one it refuses; not by a send another limit refuses.
        if count > limit.count or not waits:
            _site_budget_reached(cache, limit, key, window_end, now)
    if waits:
        _give_back(cache, taken)
        raise _refusal(waits)
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
            _seconds(window_end - now),
            extra={"event": "site_budget_reached", "limit": limit.name},
        )


def retry_after(
    phone_number: str | None = None, client_ip: str | None = None, *, owner: bool = False
) -> int | None:
    """Seconds until a send would be allowed, or None if it would be now. Changes nothing.

    A read, not a reservation: ``consume_send`` still decides. DRF throttles use it to refuse
    early what would be refused anyway (the site's budget and the kill switch included).
    """
    cache = _cache()
    if sending_paused(cache):
        return PAUSED_RETRY_AFTER
    now = time.time()
    waits = []
    if phone_number and voiceotp_settings.RESEND_COOLDOWN:
        started = cache.get(_key("cooldown", phone_number))
        if isinstance(started, (int, float)):
            waits.append(_seconds(started + voiceotp_settings.RESEND_COOLDOWN - now))
    limits = [
        limit
        for limit in send_limits(phone_number or "", client_ip, owner=owner)
        if phone_number or not limit.name.startswith("number")
    ]
    waits += [wait for wait, _name in _exhausted(cache, limits, now)]
    return max(waits) if waits else None


# -- the site's budget and the kill switch ------------------------------------------------------


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
    _cache().set(PAUSED_KEY, True, timeout=None)
    logger.warning("Sending is paused: no call or fallback message is placed.")


def resume_sending() -> None:
    """Lift the pause set by :func:`pause_sending` (not ``SENDING_PAUSED``, a setting)."""
    _cache().delete(PAUSED_KEY)
    logger.warning("Sending is resumed.")


def _refuse_if_paused(cache) -> None:
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
    cache = _cache()
    now = time.time()
    budget = [
        limit
        for kind in (CALL, FALLBACK)
        for limit in send_limits("", kind=kind)
        if limit.name in SITE_LIMITS
    ]
    uses = []
    for limit in budget:
        key, window_end = _window_key(limit, now)
        used = cache.get(key) or 0
        uses.append(BudgetUse(limit.name, int(used), limit.count, _seconds(window_end - now)))
    return uses


# -- who pays for a code's redials and fallback --------------------------------------------------


def remember_admission(call_id: int) -> None:
    """Record, for the redials and fallback of call ``call_id``, the client whose admission is
    in progress (inside :func:`admit`). Nothing when no follow-up can come or none is in
    progress."""
    payer = _admission.get()
    if payer is not None:
        record_payer(call_id, payer)


def follow_ups_possible() -> bool:
    return bool(voiceotp_settings.REDIAL_MAX or voiceotp_settings.FALLBACK_SENDER)


def record_payer(call_id: int, payer: Payer) -> None:
    """Remember whom the follow-ups of call ``call_id`` are counted against, as long as its
    passcode can be used (and an hour more). Nothing when no follow-up can come."""
    if not follow_ups_possible():
        return
    memory = math.ceil(float(voiceotp_settings.OTP_MAX_AGE)) + 3600
    _cache().set(_payer_key(call_id), [payer.client_ip, payer.owner], timeout=memory)


def recorded_payer(call_id: int) -> Payer | None:
    """What :func:`record_payer` kept for call ``call_id``; None when the cache has forgotten."""
    value = _cache().get(_payer_key(call_id))
    if not (isinstance(value, (list, tuple)) and len(value) == 2):
        return None
    client_ip, owner = value
    return Payer(client_ip if isinstance(client_ip, str) else None, owner is True)


def _payer_key(call_id: int) -> str:
    return f"{KEY_PREFIX}:payer:{int(call_id)}"


def _refusal(waits: list[tuple[int, str]]) -> RateLimited:
    """The refusal for the limits that refuse: the longest wait among them, counted by name."""
    retry_after, name = max(waits)
    metrics.limit_refused(name)
    return RateLimited(retry_after, limit=name)


def _exhausted(cache, limits: list[Limit], now: float) -> list[tuple[int, str]]:
    """The limits whose counter is already full, with the wait until their window ends."""
    waits = []
    for limit in limits:
        key, window_end = _window_key(limit, now)
        if (cache.get(key) or 0) >= limit.count:
            waits.append((_seconds(window_end - now), limit.name))
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


def _window_key(limit: Limit, now: float) -> tuple[str, float]:
    """Fixed windows (clock hours, UTC days): one counter per window, no history to keep.

    Across a window's end a subject may get up to twice its count in a short time; the
    per-number cooldown still spaces those calls.
    """
    window_start = now // limit.window * limit.window
    key = f"{_key(limit.name, limit.subject)}:{int(window_start)}"
    return key, window_start + limit.window


def _key(name: str, subject: str) -> str:
    # Hashed: cache keys must be short and plain, and the cache need not hold phone numbers.
    digest = hashlib.sha256(subject.encode()).hexdigest()[:32]
    return f"{KEY_PREFIX}:{name}:{digest}"


def _give_back(cache, taken: list[str], cooldown_key: str | None = None) -> None:
    for key in taken:
        if key == cooldown_key:
            cache.delete(key)
        else:
            try:
                cache.decr(key)
            except ValueError:  # expired meanwhile: nothing left to give back
                pass


def _seconds(value: float) -> int:
    return max(1, math.ceil(value))


def non_atomic_cache_backend(alias: str) -> str | None:
    """The class name of the ``alias`` cache if its counters cannot be atomic, else None."""
    cache = caches[alias]
    return type(cache).__name__ if isinstance(cache, NON_ATOMIC_CACHES) else None


def _cache():
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
