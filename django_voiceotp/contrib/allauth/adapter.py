"""An account adapter for django-allauth whose phone codes are read out by a voice call.

allauth (65.5 and later) sends every phone code through one adapter hook,
``send_verification_code_sms``: phone verification at sign-up or on a change of number, the
resend, login by code, reauthentication. Here that hook places a voice call with ``send_otp``
after the admission gate (``limits.admit``), so the call is placed after the commit, tracked as a
``Call`` with its signals, redialled and sent to the fallback as any other, and held to the
abuse limits with the request's client address.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from allauth.account.adapter import DefaultAccountAdapter
from allauth.core import context
from allauth.core.exceptions import ImmediateHttpResponse, RateLimited
from allauth.core.ratelimit import respond_429
from django import forms
from django.contrib import messages
from django.utils.translation import gettext_lazy as _

from ... import limits, testnumbers
from ...exceptions import CampaignUnavailable, InvalidPhoneNumber
from ...exceptions import RateLimited as CallLimited
from ...phone import mask_phone_number
from ...services import resolve_campaign, send_otp
from ...throttling import client_ip
from ...verification import generate_code

if TYPE_CHECKING:
    from django.contrib.auth.base_user import AbstractBaseUser
    from django.http import HttpRequest

logger = logging.getLogger("django_voiceotp")

NOT_CALLABLE = _("This number cannot be called.")
CALLS_UNAVAILABLE = _("Calls cannot be placed right now.")


class CallRefused(ImmediateHttpResponse, RateLimited):
    """A limit refused the call: allauth's own "too many requests" answer.

    Both of allauth's exceptions, because allauth catches one or the other depending on the
    flow: a resend catches ``RateLimited`` and shows its "be patient" message (a 429 in the
    headless API); sign-up and login by code let ``ImmediateHttpResponse`` through to its
    middleware, which answers with the response carried here (its 429 page, or the headless
    429). Either way, no server error.
    """

    def __init__(self, request: HttpRequest, retry_after: int) -> None:
        response = respond_429(request)
        response["Retry-After"] = str(retry_after)
        super().__init__(response)


class VoiceCallAdapterMixin:
    """Put before allauth's adapter: ``class AccountAdapter(VoiceCallAdapterMixin,
    DefaultAccountAdapter)``. The phone storage (``set_phone``, ``get_phone``,
    ``set_phone_verified``, ``get_user_by_phone``) stays the project's, as allauth asks.
    """

    def generate_phone_verification_code(self, *, user: AbstractBaseUser, phone: str) -> str:
        """``CODE_LENGTH`` digits, to be read aloud (allauth's default has letters); a number of
        ``TEST_NUMBERS`` gets its fixed code."""
        return _fixed_code(phone) or generate_code()

    def clean_phone(self, phone: str) -> str:
        """Refuse, as a form error, a number this site does not call (the destination rules),
        before allauth stores it or asks for a call."""
        phone = super().clean_phone(phone)  # type: ignore[misc]
        try:
            limits.allowed_number(phone)
        except InvalidPhoneNumber as err:
            raise forms.ValidationError(NOT_CALLABLE, code="invalid_phone") from err
        return phone

    def send_verification_code_sms(
        self, user: AbstractBaseUser, phone: str, code: str, **kwargs: Any
    ) -> None:
        """Call ``phone`` and read ``code``, once the transaction commits.

        :raises CallRefused: when a limit refuses the call; none is placed.
        """
        request = context.request
        address = client_ip(request) if request is not None else None
        try:
            with limits.admit(phone, client_ip=address) as number:
                if testnumbers.fixed_code_for(number) is not None:
                    testnumbers.create_test_call(number, campaign=resolve_campaign(None))
                else:
                    send_otp(number, code)
        except CallLimited as err:
            if request is None:  # called outside a request: nothing to answer with
                raise
            raise CallRefused(request, err.retry_after) from err
        except InvalidPhoneNumber:
            # clean_phone refuses such numbers when they are typed: this one was stored before
            # (or the rules changed since). allauth would turn an exception into a server error.
            logger.warning(
                "allauth code for %s not called: refused number.", mask_phone_number(phone)
            )
            if request is not None:
                messages.error(request, NOT_CALLABLE, fail_silently=True)
        except CampaignUnavailable:
            # DEFAULT_CAMPAIGN unset or made inactive in the admin: an operator's matter, which the
            # person can only wait out; allauth would turn the exception into a server error.
            logger.error(
                "allauth code for %s not called: no active campaign.", mask_phone_number(phone)
            )
            if request is not None:
                messages.error(request, CALLS_UNAVAILABLE, fail_silently=True)


class VoiceOTPAccountAdapter(VoiceCallAdapterMixin, DefaultAccountAdapter):
    """allauth's default adapter with its phone codes read out by a voice call.

    Subclass it to store phone numbers (allauth leaves that to the project).
    """


def _fixed_code(phone: str) -> str | None:
    try:
        number = limits.allowed_number(phone)
    except InvalidPhoneNumber:
        return None
    return testnumbers.fixed_code_for(number)
