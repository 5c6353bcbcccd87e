"""The admission gate: which numbers may be called, and whether a send may go ahead now.

:func:`admit` parses the number once, applies the destination policy, counts the send against
the limits (``counters``), refused while sending is paused (``site``), and hands back the number
to call. :func:`consume_follow_up` counts what a code costs after its first call.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from contextlib import contextmanager

import phonenumbers

from .. import testnumbers
from ..conf import SETTINGS_NAME, voiceotp_settings
from ..exceptions import (
    ImproperlyConfigured,
    InvalidPhoneNumber,
    PhoneNumberNotAllowed,
    RateLimited,
)
from ..models import Call, failure_reason
from ..phone import ProviderNumber, format_phone_number, parse_phone_number
from .counters import (
    CALL,
    count_against,
    counter_key,
    exhausted,
    give_back,
    limits_cache,
    refusal,
    send_limits,
    whole_seconds,
)
from .payers import Payer, paying
from .site import PAUSED_RETRY_AFTER, refuse_if_paused, sending_paused

#: The failure reason of a call whose redial or fallback a limit refused: the delivery ends.
SPENDING_LIMIT_REASON = failure_reason(Call.FailureCode.LIMITED)


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


# -- the gate --------------------------------------------------------------------------------------


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
    with consume_send(number, client_ip, owner=owner), paying(Payer(client_ip, owner)):
        yield number


# -- which numbers ---------------------------------------------------------------------------------


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


# -- how often -------------------------------------------------------------------------------------


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
    cache = limits_cache()
    now = time.time()
    refuse_if_paused(cache)
    taken: list[str] = []

    cooldown = voiceotp_settings.RESEND_COOLDOWN
    cooldown_key = counter_key("cooldown", phone_number)
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
            waits = [(whole_seconds(started + cooldown - now), "cooldown")]
            waits += exhausted(cache, limits, now)
            raise refusal(waits)

    try:
        taken += count_against(cache, limits, now)
    except RateLimited:
        give_back(cache, taken, cooldown_key)
        raise
    try:
        yield
    except BaseException:
        give_back(cache, taken, cooldown_key)
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
    cache = limits_cache()
    now = time.time()
    refuse_if_paused(cache)
    taken = count_against(cache, send_limits(phone_number, client_ip, owner=owner, kind=kind), now)
    try:
        yield
    except BaseException:
        give_back(cache, taken)
        raise


def retry_after(
    phone_number: str | None = None, client_ip: str | None = None, *, owner: bool = False
) -> int | None:
    """Seconds until a send would be allowed, or None if it would be now. Changes nothing.

    A read, not a reservation: ``consume_send`` still decides. DRF throttles use it to refuse
    early what would be refused anyway (the site's budget and the kill switch included).
    """
    cache = limits_cache()
    if sending_paused(cache):
        return PAUSED_RETRY_AFTER
    now = time.time()
    waits = []
    if phone_number and voiceotp_settings.RESEND_COOLDOWN:
        started = cache.get(counter_key("cooldown", phone_number))
        if isinstance(started, (int, float)):
            waits.append(whole_seconds(started + voiceotp_settings.RESEND_COOLDOWN - now))
    limits = [
        limit
        for limit in send_limits(phone_number or "", client_ip, owner=owner)
        if phone_number or not limit.name.startswith("number")
    ]
    waits += [wait for wait, _name in exhausted(cache, limits, now)]
    return max(waits) if waits else None
