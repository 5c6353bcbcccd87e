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
"""

from __future__ import annotations

import hashlib
import ipaddress
import math
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import phonenumbers
from django.core.cache import caches
from django.core.cache.backends.db import DatabaseCache
from django.core.cache.backends.dummy import DummyCache
from django.core.cache.backends.filebased import FileBasedCache

from . import metrics, testnumbers
from .conf import SETTINGS_NAME, voiceotp_settings
from .exceptions import ImproperlyConfigured, InvalidPhoneNumber, PhoneNumberNotAllowed, RateLimited
from .phone import ProviderNumber, format_phone_number, parse_phone_number

KEY_PREFIX = "voiceotp:limit"

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
        countries = voiceotp_settings.ALLOWED_COUNTRY_CODES
        if countries is not None and test_number.number.country_code not in {
            int(code) for code in countries
        }:
            raise PhoneNumberNotAllowed("Numbers of this country cannot be called.") from None
        e164 = phonenumbers.format_number(test_number.number, phonenumbers.PhoneNumberFormat.E164)
        if any(e164.startswith(prefix) for prefix in voiceotp_settings.DENIED_PREFIXES or ()):
            raise PhoneNumberNotAllowed("This number cannot be called.") from None
        return AllowedNumber(test_number.form, fixed_code=test_number.code)
    check_destination(number)
    form = format_phone_number(number)
    return AllowedNumber(form, fixed_code=testnumbers.fixed_code_for(form))


@contextmanager
def admit(
    phone_number: str, *, client_ip: str | None = None, owner: bool = False
) -> Iterator[AllowedNumber]:
    """The admission gate: parse the number once, apply the destination policy, count one send
    against the limits, and hand back the number to call.

    Place the call inside the ``with`` block: if it raises, the quota is given back.

    :param phone_number: any common spelling, or an :class:`AllowedNumber` (not parsed again).
    :param client_ip: the address asking, counted against ``SENDS_PER_IP_PER_HOUR``.
    :raises InvalidPhoneNumber: (``PhoneNumberNotAllowed`` for a number this site does not
        call) before anything is counted.
    :raises RateLimited: with ``retry_after`` seconds, when a limit refuses; place no call.
    """
    number = allowed_number(phone_number)
    with consume_send(number, client_ip, owner=owner):
        yield number


# -- which numbers -------------------------------------------------------------------------------


def check_destination(number: phonenumbers.PhoneNumber) -> None:
    """Refuse numbers this site does not call.

    :raises PhoneNumberNotAllowed: for a country outside ``ALLOWED_COUNTRY_CODES``, a number
        starting with one of ``DENIED_PREFIXES`` (E.164, e.g. ``+841900``), or one of a type
        outside ``ALLOWED_NUMBER_TYPES`` (by default mobile and fixed line: toll-free, shared
        cost, VoIP, premium-rate and the like are refused).
    """
    allowed = voiceotp_settings.ALLOWED_COUNTRY_CODES
    if allowed is not None and number.country_code not in {int(code) for code in allowed}:
        raise PhoneNumberNotAllowed("Numbers of this country cannot be called.")
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    if any(e164.startswith(prefix) for prefix in voiceotp_settings.DENIED_PREFIXES or ()):
        raise PhoneNumberNotAllowed("This number cannot be called.")
    allowed_types = allowed_number_types()
    if allowed_types is not None and phonenumbers.number_type(number) not in allowed_types:
        raise PhoneNumberNotAllowed("Numbers of this type cannot be called.")


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
    phone_number: str, client_ip: str | None = None, *, owner: bool = False
) -> list[Limit]:
    """The counters one send uses, most general first. A limit set to 0 or None is off."""
    day, hour = 24 * 3600, 3600
    per_day = voiceotp_settings.SENDS_PER_NUMBER_PER_DAY
    if per_day and not owner:
        # A share of the number's day that only its owner may spend.
        per_day = max(per_day - (voiceotp_settings.SENDS_RESERVED_FOR_OWNER_PER_DAY or 0), 0)
    candidates = [
        Limit("ip_hour", ip_subject(client_ip), voiceotp_settings.SENDS_PER_IP_PER_HOUR, hour)
        if client_ip
        else None,
        Limit("number_day", phone_number, per_day, day)
        if voiceotp_settings.SENDS_PER_NUMBER_PER_DAY
        else None,
        Limit("number_hour", phone_number, voiceotp_settings.SENDS_PER_NUMBER_PER_HOUR, hour),
    ]
    return [limit for limit in candidates if limit and (limit.count or limit.name == "number_day")]


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
    taken: list[str] = []
    waits: list[tuple[int, str]] = []

    cooldown = voiceotp_settings.RESEND_COOLDOWN
    cooldown_key = _key("cooldown", phone_number)
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
            waits += _exhausted(cache, send_limits(phone_number, client_ip, owner=owner), now)
            raise _refusal(waits)

    for limit in send_limits(phone_number, client_ip, owner=owner):
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

    if waits:
        _give_back(cache, taken, cooldown_key)
        raise _refusal(waits)
    try:
        yield
    except BaseException:
        _give_back(cache, taken, cooldown_key)
        raise


def retry_after(phone_number: str | None = None, client_ip: str | None = None) -> int | None:
    """Seconds until a send would be allowed, or None if it would be now. Changes nothing.

    A read, not a reservation: ``consume_send`` still decides. DRF throttles use it to refuse
    early what would be refused anyway.
    """
    cache = _cache()
    now = time.time()
    waits = []
    if phone_number and voiceotp_settings.RESEND_COOLDOWN:
        started = cache.get(_key("cooldown", phone_number))
        if isinstance(started, (int, float)):
            waits.append(_seconds(started + voiceotp_settings.RESEND_COOLDOWN - now))
    limits = [
        limit
        for limit in send_limits(phone_number or "", client_ip)
        if phone_number or not limit.name.startswith("number")
    ]
    waits += [wait for wait, _name in _exhausted(cache, limits, now)]
    return max(waits) if waits else None


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
    usually holds a whole /64 and could otherwise switch address for every request."""
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


def _give_back(cache, taken: list[str], cooldown_key: str) -> None:
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
