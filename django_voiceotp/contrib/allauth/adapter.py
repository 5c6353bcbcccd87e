"""An account adapter for django-allauth whose phone codes are read out by a voice call.

allauth (65.5 and later) sends every phone code through one adapter hook,
``send_verification_code_sms``: phone verification at sign-up or on a change of number, the
resend, login by code, reauthentication. Here that hook places a voice call with ``send_otp``
after the admission gate (``limits.admit``), so the call is placed after the commit, tracked as a
``Call`` with its signals, redialled and sent to the fallback as any other, and held to the
abuse limits with the request's client address.

With enumeration prevention (allauth's default), a code asked for a number with no account (or a
sign-up with a number that has one) goes to ``send_unknown_account_sms`` or
``send_account_already_exists_sms`` instead. Those pass the same gate and count the same send,
placing no call: the person asking sees the same answers, refusals and waits either way, so the
answers do not tell which numbers have accounts.

Who asks is told to the gate as for ``request_code``: the client's address, and whether it owns
the number (it verified it before: the owner cookie or its address, ``limits.clients.is_owner``; or
the signed-in user's verified number is this one), so strangers cannot spend the share of the
number's day kept for its owner. Whether the number has an account plays no part in it. A
sign-in sets the owner cookie for the user's verified number (``post_login``), so the owner is
still known once signed out.

A number of ``TEST_NUMBERS`` gets its fixed code and no call, as the gate decides
(``limits.allowed_number``). Its wrong guesses are not counted across codes here as
``verify_code`` counts them: allauth checks its codes itself, and its one hook on a wrong code
(``validation_error("incorrect_code")``) is not told which number the code was for. allauth
ends each code after ``ACCOUNT_PHONE_VERIFICATION_MAX_ATTEMPTS`` (``LOGIN_BY_CODE_MAX_ATTEMPTS``)
wrong tries, and every new code passes the gate, so guesses at a test number stay bounded by
that many per send of the number's day.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import phonenumbers
from allauth import app_settings as allauth_settings
from allauth.account.adapter import DefaultAccountAdapter
from allauth.core import context
from allauth.core.exceptions import ImmediateHttpResponse, RateLimited
from allauth.core.ratelimit import respond_429
from django import forms
from django.apps import apps
from django.contrib import messages
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from ... import limits, testnumbers
from ...exceptions import (
    CampaignUnavailable,
    ImproperlyConfigured,
    InvalidPhoneNumber,
    PhoneNumberNotAllowed,
)
from ...exceptions import RateLimited as CallLimited
from ...limits import clients
from ...phone import mask_phone_number, parse_phone_number
from ...sending import resolve_campaign, send_otp
from ...verification import generate_code

if TYPE_CHECKING:
    from django.contrib.auth.base_user import AbstractBaseUser
    from django.db.models import Manager
    from django.http import HttpRequest, HttpResponse

    from ...limits import AllowedNumber
    from .models import PhoneNumber

logger = logging.getLogger("django_voiceotp")

NOT_A_NUMBER = _("Enter a valid phone number.")
NOT_CALLABLE = _("This number cannot be called.")
CALLS_UNAVAILABLE = _("Calls cannot be placed right now.")
#: allauth's messages that a code is on its way to a phone: it adds one after each send.
SENT_MESSAGES = frozenset(
    ["account/messages/phone_verification_sent.txt", "account/messages/login_code_sent.txt"]
)


class CallRefused(ImmediateHttpResponse, RateLimited):
    """A limit refused the call: a 429 with ``Retry-After``, and on a page, the wait.

    Both of allauth's exceptions, because allauth catches one or the other depending on the
    flow: a resend catches ``RateLimited`` and shows its "be patient" message (a 429 in the
    headless API); sign-up and login by code let ``ImmediateHttpResponse`` through to its
    middleware, which answers with the response carried here (a page saying how long to wait,
    or the headless API's 429). Either way, no server error.
    """

    def __init__(self, request: HttpRequest, retry_after: int) -> None:
        response = _limited_response(request, retry_after)
        response["Retry-After"] = str(retry_after)
        super().__init__(response)


class VoiceCallAdapterMixin:
    """Put before allauth's adapter: ``class AccountAdapter(VoiceCallAdapterMixin,
    DefaultAccountAdapter)``. The phone storage (``set_phone``, ``get_phone``,
    ``set_phone_verified``, ``get_user_by_phone``) is the project's then, or
    :class:`PhoneNumberStorageMixin`'s.
    """

    def generate_phone_verification_code(self, *, user: AbstractBaseUser, phone: str) -> str:
        """``CODE_LENGTH`` digits, to be read aloud (allauth's default has letters); a number of
        ``TEST_NUMBERS`` gets its fixed code."""
        try:
            fixed_code = limits.allowed_number(phone).fixed_code
        except InvalidPhoneNumber:  # refused again, with its message, when it is to be called
            fixed_code = None
        return fixed_code or generate_code()

    def phone_form_field(self, **kwargs: Any) -> Any:
        """allauth's phone field without its E.164-only rule: ``clean_phone`` reads a number
        the way people of ``PHONE_REGION`` write it (``0771122340``), or in any other spelling."""
        kwargs.setdefault("validators", [])
        return super().phone_form_field(**kwargs)  # type: ignore[misc]

    def clean_phone(self, phone: str) -> str:
        """The number in E.164 (``+84771122340``), however it was typed, so one number is one
        account; a number this site does not call (the destination rules) is a form error,
        before allauth stores it or asks for a call."""
        try:
            number = parse_phone_number(phone)
            limits.check_destination(number)
        except PhoneNumberNotAllowed as err:
            raise forms.ValidationError(NOT_CALLABLE, code="invalid_phone") from err
        except InvalidPhoneNumber as err:
            raise forms.ValidationError(NOT_A_NUMBER, code="invalid_phone") from err
        e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
        return super().clean_phone(e164)  # type: ignore[misc]

    def send_verification_code_sms(
        self, user: AbstractBaseUser, phone: str, code: str, **kwargs: Any
    ) -> None:
        """Call ``phone`` and read ``code``, once the transaction commits.

        :raises CallRefused: when a limit refuses the call; none is placed.
        """

        def call(number: AllowedNumber) -> None:
            if number.is_test:  # its fixed code, which allauth was given: nobody is called
                testnumbers.create_test_call(number, campaign=resolve_campaign(None))
            else:
                send_otp(number, code)

        _through_the_gate(self, phone, call)

    def send_unknown_account_sms(self, phone: str, **kwargs: Any) -> None:
        """A code asked for a number with no account: the same gate, the same count and the
        same refusals as a call, but no call.

        :raises CallRefused: when a limit refuses, as it would for a number with an account.
        """
        if _through_the_gate(self, phone, _no_call):
            super().send_unknown_account_sms(phone, **kwargs)  # type: ignore[misc]

    def send_account_already_exists_sms(self, phone: str, **kwargs: Any) -> None:
        """A sign-up with a number that has an account: as :meth:`send_unknown_account_sms`.

        :raises CallRefused: when a limit refuses, on a page. allauth's headless sign-up answers
            a refused call for a new account as a verification under way (it drops the
            refusal), so a headless sign-up is answered alike here: no call, and no 429.
        """
        try:
            admitted = _through_the_gate(self, phone, _no_call)
        except CallRefused:
            request = context.request
            if request is not None and _is_headless(request):
                return
            raise
        if admitted:
            super().send_account_already_exists_sms(phone, **kwargs)  # type: ignore[misc]

    def post_login(self, request: HttpRequest, user: AbstractBaseUser, **kwargs: Any) -> Any:
        """allauth's response to a sign-in, with the owner cookie for the user's verified
        number: whoever signs in (by a code read to the number, or after verifying it at
        sign-up) keeps the owner's share of its day once signed out, as a client that verified
        it through the HTTP API does. Set only on a sign-in, which tells nothing about
        accounts that the person does not already know (N3)."""
        response = super().post_login(request, user, **kwargs)  # type: ignore[misc]
        stored = self.get_phone(user)  # type: ignore[attr-defined]
        if stored and stored[1]:  # a number typed but never verified proves nothing
            clients.remember_owner(request, response, stored[0])
        return response

    def add_message(
        self,
        request: HttpRequest,
        level: int,
        message_template: str | None = None,
        message_context: dict[str, Any] | None = None,
        *args: Any,
        **kwargs: Any,
    ) -> None:
        """allauth's message, after the gate when allauth says a code is on its way to a phone
        but asked no hook to send it: a resend for a number with no account, or for a sign-up
        whose number has one, counts and is refused as a resend that calls.

        :raises CallRefused: when a limit refuses.
        """
        phone = (message_context or {}).get("phone")
        if message_template in SENT_MESSAGES and phone and phone not in _gated(request):
            _through_the_gate(self, phone, _no_call)
        super().add_message(  # type: ignore[misc]
            request, level, message_template, message_context, *args, **kwargs
        )


class PhoneNumberStorageMixin:
    """allauth's phone storage on :class:`~django_voiceotp.contrib.allauth.models.PhoneNumber`
    (``"django_voiceotp.contrib.allauth"`` in ``INSTALLED_APPS``): one number per user, in
    E.164."""

    def set_phone(self, user: AbstractBaseUser, phone: str, verified: bool) -> None:
        _phone_numbers().update_or_create(
            user=user, defaults={"phone": _e164(phone) or phone, "verified": verified}
        )

    def get_phone(self, user: AbstractBaseUser) -> tuple[str, bool] | None:
        return _phone_numbers().filter(user=user).values_list("phone", "verified").first()

    def set_phone_verified(self, user: AbstractBaseUser, phone: str) -> None:
        _phone_numbers().filter(user=user, phone=_e164(phone) or phone).update(verified=True)

    def get_user_by_phone(self, phone: str) -> AbstractBaseUser | None:
        """The user who has verified ``phone``: a number typed but never verified proves
        nothing, so it neither logs anyone in nor keeps its owner from signing up."""
        e164 = _e164(phone)
        if e164 is None:
            return None
        found = _phone_numbers().select_related("user").filter(phone=e164, verified=True).first()
        return found.user if found else None


class VoiceOTPAccountAdapter(VoiceCallAdapterMixin, PhoneNumberStorageMixin, DefaultAccountAdapter):
    """allauth's default adapter with its phone codes read out by a voice call, and each user's
    number kept by this app: ``ACCOUNT_ADAPTER =
    "django_voiceotp.contrib.allauth.adapter.VoiceOTPAccountAdapter"``.
    """


def _through_the_gate(adapter: Any, phone: str, place: Callable[[AllowedNumber], None]) -> bool:
    """Admit one send to ``phone`` from the request's client, then ``place`` it. True if it
    was placed; what allauth cannot handle becomes its 429 (``CallRefused``) or a message.

    :raises CallRefused: when a limit refuses; nothing is placed.
    """
    request = context.request
    address = clients.client_ip(request) if request is not None else None
    if request is not None:
        _gated(request).add(phone)
    try:
        number = limits.allowed_number(phone)
        owner = request is not None and _is_owner(adapter, request, number)
        with limits.admit(number, client_ip=address, owner=owner):
            place(number)
    except CallLimited as err:
        if request is None:  # called outside a request: nothing to answer with
            raise
        raise CallRefused(request, err.retry_after) from err
    except InvalidPhoneNumber:
        # clean_phone refuses such numbers when they are typed: this one was stored before
        # (or the rules changed since). allauth would turn an exception into a server error.
        logger.warning("allauth code for %s not called: refused number.", mask_phone_number(phone))
        if request is not None:
            messages.error(request, NOT_CALLABLE, fail_silently=True)
        return False
    except CampaignUnavailable:
        # DEFAULT_CAMPAIGN unset or made inactive in the admin: an operator's matter, which the
        # person can only wait out; allauth would turn the exception into a server error.
        logger.error(
            "allauth code for %s not called: no active campaign.", mask_phone_number(phone)
        )
        if request is not None:
            messages.error(request, CALLS_UNAVAILABLE, fail_silently=True)
        return False
    return True


def _is_owner(adapter: Any, request: HttpRequest, number: AllowedNumber) -> bool:
    """Whether the client asking has verified ``number`` before: it holds the owner cookie or
    asked from the address that verified it (``limits.clients.is_owner``), or it is signed in as a
    user whose verified number it is. Never whether the number has an account: the answers
    would tell (N3)."""
    if clients.is_owner(request, number):
        return True
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return False
    stored = adapter.get_phone(user)
    if not stored or not stored[1]:  # none, or never verified: it proves nothing
        return False
    try:
        return limits.allowed_number(stored[0]) == number
    except InvalidPhoneNumber:
        return False


def _gated(request: HttpRequest) -> set[str]:
    """The numbers this request has taken through the gate."""
    if not hasattr(request, "_voiceotp_gated"):
        request._voiceotp_gated = set()  # type: ignore[attr-defined]
    return request._voiceotp_gated  # type: ignore[attr-defined]


def _no_call(number: AllowedNumber) -> None:
    """What a call needs, without the call: an active campaign (else the same message)."""
    resolve_campaign(None)


def _limited_response(request: HttpRequest, retry_after: int) -> HttpResponse:
    """The headless API's own 429; on a page, how long to wait before asking again."""
    if _is_headless(request):
        return respond_429(request)
    context = {"wait": waiting_time(retry_after), "retry_after": retry_after}
    return render(request, "voiceotp_allauth/call_limited.html", context, status=429)


def _is_headless(request: HttpRequest) -> bool:
    """A request to allauth's headless API (as allauth's own ``respond_429`` tells)."""
    allauth_state = getattr(request, "allauth", None)
    return bool(allauth_settings.HEADLESS_ENABLED and hasattr(allauth_state, "headless"))


def waiting_time(seconds: int) -> str:
    """``retry_after`` in words: "45 seconds", "5 minutes", "11 hours, 35 minutes"."""
    if seconds < 60:
        return ngettext("%(count)d second", "%(count)d seconds", seconds) % {"count": seconds}
    # Rounded up to the minute: "1 minute" for 61 s would ask again too soon.
    hours, minutes = divmod(math.ceil(seconds / 60), 60)
    parts = (
        [ngettext("%(count)d hour", "%(count)d hours", hours) % {"count": hours}] if hours else []
    )
    if minutes:
        parts.append(
            ngettext("%(count)d minute", "%(count)d minutes", minutes) % {"count": minutes}
        )
    return ", ".join(parts)


def _e164(phone: str) -> str | None:
    try:
        number = parse_phone_number(phone)
    except InvalidPhoneNumber:
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _phone_numbers() -> Manager[PhoneNumber]:
    if not apps.is_installed("django_voiceotp.contrib.allauth"):
        raise ImproperlyConfigured(
            "PhoneNumberStorageMixin keeps numbers in a table of its own: add "
            "'django_voiceotp.contrib.allauth' to INSTALLED_APPS, or write set_phone, "
            "get_phone, set_phone_verified and get_user_by_phone on your adapter."
        )
    from .models import PhoneNumber

    return PhoneNumber._default_manager
