"""Test numbers (``TEST_NUMBERS``): a fixed code each, and no call placed.

QA and app-store reviewers must sign in with a number no one answers. Such a number still goes
through the admission gate (its limits count as any number's), and the gate marks it
(``AllowedNumber.fixed_code``): every door then records the call instead of placing it (a
``Call`` row marked ``is_test``, already final, so nothing sends or polls it) and checks the fixed
code. A fixed code does not change, so wrong guesses at it are counted across codes: after
``TEST_GUESSES_PER_DAY`` of them no code of the number verifies until the next UTC day.

A test number may lie outside the ranges assigned to operators (phonenumbers then calls it
possible but not valid): such a number is nobody's line, the safest choice, and since it is never
called, the rules on number types (what a call may cost) have nothing to judge.
"""

from __future__ import annotations

import hashlib
import logging
import math
import time
from dataclasses import dataclass, field

import phonenumbers
from django.core.cache import caches
from django.utils import timezone

from . import metrics
from .conf import voiceotp_settings
from .exceptions import InvalidOTP
from .models import Call, Campaign
from .phone import format_phone_number, mask_phone_number, validate_otp

logger = logging.getLogger("django_voiceotp")

GUESSES_KEY = "voiceotp:limit:test_guesses"
DAY = 24 * 3600


@dataclass(frozen=True)
class TestNumber:
    """A number of ``TEST_NUMBERS``: parsed, in the form sent to the provider, with its code."""

    __test__ = False  # not a test case, whatever pytest thinks of the name

    number: phonenumbers.PhoneNumber
    form: str
    code: str = field(repr=False)  # a secret, as every code


def configured_test_numbers() -> dict[str, str]:
    """``TEST_NUMBERS`` keyed by each number in the form sent to the provider.

    An entry that is not a possible number, or whose code is not a valid one, is left out (checks
    ``django_voiceotp.W012`` and ``E011`` name it).
    """
    configured = voiceotp_settings.TEST_NUMBERS
    if not isinstance(configured, dict):  # check django_voiceotp.E011
        return {}
    numbers = {}
    for spelling, code in configured.items():
        number = _possible_number(spelling)
        if number is None:  # check W012
            continue
        try:
            numbers[format_phone_number(number)] = validate_otp(code)
        except (InvalidOTP, TypeError):  # TypeError: OTP_*_LENGTH malformed (check E006)
            continue
    return numbers


def find(spelling: object) -> TestNumber | None:
    """The test number ``spelling`` (any common spelling) stands for, or None.

    Read leniently: a number outside the assigned ranges, which ``parse_phone_number`` refuses,
    is found here when it is a test number.
    """
    number = _possible_number(spelling)
    if number is None:
        return None
    form = format_phone_number(number)
    code = configured_test_numbers().get(form)
    return TestNumber(number, form, code) if code is not None else None


def possible_form(spelling: object) -> str | None:
    """The form sent to the provider of any possible number, in an assigned range or not (a
    test number, or one that was), or None for what is not a number at all."""
    number = _possible_number(spelling)
    return format_phone_number(number) if number is not None else None


def fixed_code_for(phone_number: str) -> str | None:
    """The fixed code of ``phone_number`` (in the form sent to the provider) if it is a test
    number, else None."""
    return configured_test_numbers().get(phone_number)


def _possible_number(spelling: object) -> phonenumbers.PhoneNumber | None:
    if not isinstance(spelling, str):
        return None
    try:
        number = phonenumbers.parse(spelling, voiceotp_settings.PHONE_REGION)
    except (phonenumbers.NumberParseException, TypeError, AttributeError):
        return None  # TypeError, AttributeError: PHONE_REGION malformed (check E006)
    if number.extension or not phonenumbers.is_possible_number(number):
        return None
    return number


# -- wrong guesses at a fixed code ---------------------------------------------------------------


def guesses_spent(phone_number: str) -> bool:
    """True when ``phone_number`` (the provider's form) had its wrong guesses of the day."""
    budget = voiceotp_settings.TEST_GUESSES_PER_DAY
    if not budget:
        return False
    key, _window_end = _guesses_key(phone_number)
    return (_cache().get(key) or 0) >= budget


def count_wrong_guess(phone_number: str) -> bool:
    """Count one wrong guess at the fixed code of ``phone_number``; True when that spends the
    day's budget (the number is then locked until the next UTC day)."""
    budget = voiceotp_settings.TEST_GUESSES_PER_DAY
    if not budget:
        return False
    cache = _cache()
    key, window_end = _guesses_key(phone_number)
    timeout = math.ceil(window_end - time.time()) + 60
    cache.add(key, 0, timeout=timeout)
    try:
        count = cache.incr(key)
    except ValueError:  # evicted between add and incr: count from here
        cache.add(key, 1, timeout=timeout)
        count = 1
    if count == budget:
        logger.warning(
            "Test number %s locked until the end of the UTC day: %s wrong guesses at its code.",
            mask_phone_number(phone_number),
            count,
            extra={"phone": mask_phone_number(phone_number), "event": "test number locked"},
        )
    return count >= budget


def _guesses_key(phone_number: str) -> tuple[str, float]:
    # Hashed, as the limits' keys: the cache need not hold phone numbers. One counter a UTC day.
    digest = hashlib.sha256(phone_number.encode()).hexdigest()[:32]
    day_start = time.time() // DAY * DAY
    return f"{GUESSES_KEY}:{digest}:{int(day_start)}", day_start + DAY


def _cache():
    # The limits' cache: shared by every process, atomic add and incr (check E010).
    return caches[voiceotp_settings.LIMITS_CACHE_ALIAS]


def create_test_call(phone_number: str, *, campaign: Campaign) -> Call:
    """Record the call a test number would have had, placing none.

    Created final (``success``): the sweeper never sends or polls it, and no call signal fires,
    since no call happened. The code is not stored on it.
    """
    now = timezone.now()
    call = Call.objects.create(
        campaign=campaign,
        provider=campaign.provider,
        phone_number=phone_number,
        is_test=True,
        status=Call.Status.SUCCESS,
        created_at=now,
        sent_at=now,
        finished_at=now,
    )
    metrics.test_call_recorded()
    logger.info(
        "Call %s recorded for test number %s (campaign %s); no call placed.",
        call.pk,
        call.masked_phone_number,
        campaign.campaign_id,
        extra={
            "call_id": call.pk,
            "campaign": campaign.campaign_id,
            "phone": call.masked_phone_number,
            "event": "test call recorded",
        },
    )
    return call
