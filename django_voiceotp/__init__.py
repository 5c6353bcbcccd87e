"""django-voiceotp: one-time passcodes by automated voice call, tracked to the result."""

from __future__ import annotations

from typing import TYPE_CHECKING

__version__ = "0.1.0.dev0"

if TYPE_CHECKING:
    from uuid import UUID

    from .models import Call, Campaign, Verification


def send_otp(phone_number: str, otp: str, *, campaign: Campaign | str | None = None) -> Call:
    """Call ``phone_number`` and read it ``otp``, once the current transaction commits.

    Returns the stored :class:`~django_voiceotp.models.Call` (status ``pending``) at once;
    follow it with the signals of :mod:`django_voiceotp.signals`.
    """
    from .sending import send_otp as _send_otp  # models cannot be imported before apps are ready

    return _send_otp(phone_number, otp, campaign=campaign)


def request_code(
    phone_number: str,
    *,
    campaign: Campaign | str | None = None,
    client_ip: str | None = None,
    owner: bool = False,
) -> Verification:
    """Call ``phone_number`` with a new code and return the :class:`Verification` to check it by.

    Refusals raise :class:`~django_voiceotp.exceptions.RateLimited` (with ``retry_after``) and
    place no call; see :func:`django_voiceotp.verification.request_code`.
    """
    from .verification import request_code as _request_code

    return _request_code(phone_number, campaign=campaign, client_ip=client_ip, owner=owner)


def verify_code(
    phone_number: str, code: str, *, verification: Verification | UUID | str | None = None
) -> bool:
    """True when ``code`` is the valid, unused code last sent to ``phone_number``.

    See :func:`django_voiceotp.verification.check_code` for why a check failed.
    """
    from .verification import verify_code as _verify_code

    return _verify_code(phone_number, code, verification=verification)


__all__ = ["__version__", "request_code", "send_otp", "verify_code"]
