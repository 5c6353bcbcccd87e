"""Test numbers (``TEST_NUMBERS``): a fixed code each, and no call placed.

QA and app-store reviewers must sign in with a number no one answers. Such a number still goes
through the admission gate (its limits count as any number's); only the call is not placed: a
``Call`` row marked ``is_test`` stands for it, already final, so nothing sends or polls it.
"""

from __future__ import annotations

import logging

from django.utils import timezone

from . import metrics
from .conf import voiceotp_settings
from .exceptions import InvalidOTP, InvalidPhoneNumber
from .models import Call, Campaign
from .phone import normalize_phone_number, validate_otp

logger = logging.getLogger("django_voiceotp")


def configured_test_numbers() -> dict[str, str]:
    """``TEST_NUMBERS`` keyed by each number in the form sent to the provider.

    An entry that is not a valid number, or whose code is not one, is left out (checks
    ``django_voiceotp.W012`` and ``E011`` name it).
    """
    configured = voiceotp_settings.TEST_NUMBERS
    if not isinstance(configured, dict):  # check django_voiceotp.E011
        return {}
    numbers = {}
    for spelling, code in configured.items():
        try:
            numbers[normalize_phone_number(spelling)] = validate_otp(code)
        except (InvalidPhoneNumber, InvalidOTP):
            continue
    return numbers


def fixed_code_for(phone_number: str) -> str | None:
    """The fixed code of ``phone_number`` (in the form sent to the provider) if it is a test
    number, else None."""
    return configured_test_numbers().get(phone_number)


def create_test_call(phone_number: str, *, campaign: Campaign) -> Call:
    """Record the call a test number would have had, placing none.

    Created final (``success``): the sweeper never sends or polls it, and no call signal fires,
    since no call happened. The code is not stored on it.
    """
    now = timezone.now()
    call = Call.objects.create(
        campaign=campaign,
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
