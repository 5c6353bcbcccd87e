"""A call gateway for django-two-factor-auth: its "call me" method, placed by this app.

.. code-block:: python

    TWO_FACTOR_CALL_GATEWAY = "django_voiceotp.contrib.two_factor.VoiceOTPGateway"
"""

from __future__ import annotations

import logging

from .. import limits
from ..exceptions import InvalidPhoneNumber, RateLimited
from ..models import Call
from ..phone import mask_phone_number
from ..services import send_otp

logger = logging.getLogger("django_voiceotp")


class VoiceOTPGateway:
    """Places two-factor's calls through ``send_otp``: asynchronously (after the commit, by
    Celery), tracked as a :class:`~django_voiceotp.models.Call` with its signals, and held to
    the same abuse limits and allowed destinations as ``request_code``.

    two-factor generates and checks the token itself (TOTP), so no code is stored here; the
    call's copy is erased once the provider has accepted it.
    """

    def make_call(self, device, token: str) -> Call | None:
        """Call ``device.number`` and read ``token``. Returns the stored call, or None when a
        limit or the destination rules refused it (logged: two-factor's views would turn an
        exception into a server error, while the person can simply ask again later)."""
        number = str(getattr(device.number, "as_e164", device.number))
        try:
            # two-factor hands the gateway no request, so there is no client address to count.
            with limits.admit(number) as allowed:
                return send_otp(allowed, token)
        except (RateLimited, InvalidPhoneNumber) as err:
            logger.warning("Two-factor call to %s not placed: %s", mask_phone_number(number), err)
            return None

    def send_sms(self, device, token: str) -> None:
        raise NotImplementedError(
            "django-voiceotp places voice calls only; set TWO_FACTOR_SMS_GATEWAY to an SMS gateway."
        )
