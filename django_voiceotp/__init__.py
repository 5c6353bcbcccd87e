"""django-voiceotp: one-time passcodes by automated voice call, tracked to the result."""

from __future__ import annotations

from typing import TYPE_CHECKING

__version__ = "0.1.0.dev0"

if TYPE_CHECKING:
    from .models import Call, Campaign


def send_otp(phone_number: str, otp: str, *, campaign: Campaign | str | None = None) -> Call:
    """Call ``phone_number`` and read it ``otp``, once the current transaction commits.

    Returns the stored :class:`~django_voiceotp.models.Call` (status ``pending``) at once;
    follow it with the signals of :mod:`django_voiceotp.signals`.
    """
    from .services import send_otp as _send_otp  # models cannot be imported before apps are ready

    return _send_otp(phone_number, otp, campaign=campaign)


__all__ = ["__version__", "send_otp"]
