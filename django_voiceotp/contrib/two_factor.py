"""A call gateway for django-two-factor-auth: its "call me" method, placed by this app.

.. code-block:: python

    TWO_FACTOR_CALL_GATEWAY = "django_voiceotp.contrib.two_factor.VoiceOTPGateway"
"""

from __future__ import annotations

import logging

from .. import limits, testnumbers
from ..exceptions import InvalidPhoneNumber, RateLimited
from ..models import Call
from ..phone import mask_phone_number
from ..sending import resolve_campaign, send_otp

logger = logging.getLogger("django_voiceotp")


class VoiceOTPGateway:
    """Places two-factor's calls through ``send_otp``: asynchronously (after the commit, by
    Celery), tracked as a :class:`~django_voiceotp.models.Call` with its signals, and held to
    the same abuse limits and allowed destinations as ``request_code``.

    two-factor generates and checks the token itself (TOTP), so no code is stored here; the
    call's copy is erased once the provider has accepted it.

    A number of ``TEST_NUMBERS`` gets no call (a test call is recorded, as at every door), but
    its fixed code cannot sign in here: two-factor's ``PhoneDevice`` checks its own TOTP token
    and offers no hook to check another. Give test accounts a TOTP device or backup codes.
    """

    def make_call(self, device, token: str) -> Call | None:
        """Call ``device.number`` and read ``token``. Returns the stored call, or None when a
        limit or the destination rules refused it (logged: two-factor's views would turn an
        exception into a server error, while the person can simply ask again later)."""
        number = str(getattr(device.number, "as_e164", device.number))
        try:
            # two-factor hands the gateway no request, so there is no client address to count.
            with limits.admit(number) as allowed:
                if allowed.is_test:
                    # A test number, as the gate decided: no call placed.
                    return testnumbers.create_test_call(allowed, campaign=resolve_campaign(None))
                return send_otp(allowed, token)
        except (RateLimited, InvalidPhoneNumber) as err:
            logger.warning("Two-factor call to %s not placed: %s", mask_phone_number(number), err)
            return None

    def send_sms(self, device, token: str) -> None:
        raise NotImplementedError(
            "django-voiceotp places voice calls only; set TWO_FACTOR_SMS_GATEWAY to an SMS gateway."
        )
