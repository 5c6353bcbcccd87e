"""VoiceCallDevice: a django-otp side-channel device whose codes arrive by voice call."""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.db import models
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django_otp.models import (
    CooldownMixin,
    GenerateNotAllowed,
    SideChannelDevice,
    ThrottlingMixin,
    TimestampMixin,
)

from ... import limits, testnumbers
from ...conf import voiceotp_settings
from ...db import write_transaction
from ...exceptions import InvalidPhoneNumber, RateLimited
from ...phone import mask_phone_number
from ...sending import resolve_campaign, send_otp
from ...verification import code_matches, generate_code, hash_code

logger = logging.getLogger("django_voiceotp")


class VoiceCallDevice(TimestampMixin, CooldownMixin, ThrottlingMixin, SideChannelDevice):
    """Calls ``number`` and reads a code; keeps only its keyed hash.

    Codes are ``CODE_LENGTH`` digits valid ``CODE_TTL`` seconds; a new one waits
    ``RESEND_COOLDOWN`` seconds and counts against the number's abuse limits; wrong tries are
    throttled as django-otp does (``OTP_VOICE_THROTTLE_FACTOR``, default 1) and a code dies after
    ``MAX_ATTEMPTS`` of them. A code verifies once, even when two checks race.
    """

    number = models.CharField(
        _("phone number"), max_length=32, help_text=_("The number to call, in any common spelling.")
    )
    # Replaces SideChannelDevice.token: the hash of the code, never the code itself.
    token = models.CharField(
        _("code hash"),
        max_length=128,
        blank=True,
        null=True,
        editable=False,
        help_text=_("HMAC of the latest code under a key derived from SECRET_KEY."),
    )
    last_call = models.ForeignKey(
        "django_voiceotp.Call",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("last call"),
        help_text=_("The call that read the latest code, to follow its status."),
    )

    class Meta:
        verbose_name = _("voice call device")
        verbose_name_plural = _("voice call devices")

    def __repr__(self) -> str:
        return f"<VoiceCallDevice {self.pk} {mask_phone_number(self.number)}>"

    # -- generating ------------------------------------------------------------------------------

    def generate_challenge(self, client_ip: str | None = None) -> str:
        """Call the number with a new code; returns a message for the user, as django-otp wants.

        :param client_ip: the address asking, counted against ``SENDS_PER_IP_PER_HOUR``; pass it
            from a view of your own (django-otp's forms call this without a request).
        """
        allowed, data = self.generate_is_allowed()
        if not allowed:
            if data and data.get("reason") == GenerateNotAllowed.COOLDOWN_DURATION_PENDING:
                wait = (data["next_generation_at"] - timezone.now()).total_seconds()
                return gettext("A call was just made. Try again in %(seconds)d seconds.") % {
                    "seconds": max(1, round(wait))
                }
            return gettext("A code cannot be sent right now.")
        try:
            with limits.admit(self.number, client_ip=client_ip) as number, write_transaction():
                if number.fixed_code is not None:
                    # A test number, as the gate decided: its fixed code, and no call placed.
                    self._store_code(number.fixed_code, valid_secs=voiceotp_settings.CODE_TTL)
                    self.last_call = testnumbers.create_test_call(
                        number, campaign=resolve_campaign(None)
                    )
                else:
                    code = self.generate_token(
                        length=voiceotp_settings.CODE_LENGTH,
                        valid_secs=voiceotp_settings.CODE_TTL,
                        commit=False,
                    )
                    self.last_call = send_otp(number, code)
                self.cooldown_set(commit=False)
                self.save()
        except RateLimited as err:
            return gettext("Too many calls. Try again in %(seconds)d seconds.") % {
                "seconds": err.retry_after
            }
        except InvalidPhoneNumber:
            return gettext("This number cannot be called.")
        return gettext("We are calling you with a code.")

    def generate_token(self, length=6, valid_secs=300, commit=True) -> str:
        """Store the hash of a new code and return the code itself, for the call alone."""
        code = generate_code(length)
        self._store_code(code, valid_secs=valid_secs)
        if commit:
            self.save()
        return code

    def _store_code(self, code: str, *, valid_secs: int) -> None:
        self.token = hash_code(code, context=self._hash_context())
        self.valid_until = timezone.now() + timedelta(seconds=valid_secs)
        self.throttling_failure_count = 0
        self.throttling_failure_timestamp = None

    # -- verifying -------------------------------------------------------------------------------

    def verify_token(self, token) -> bool:
        allowed, _data = self.verify_is_allowed()
        if not allowed or not self.token or not isinstance(token, str):
            return False
        now = timezone.now()
        this_code = type(self).objects.filter(pk=self.pk, token=self.token, valid_until__gt=now)
        test_number = self._test_number()
        if test_number is not None and testnumbers.guesses_spent(test_number):
            # Its fixed code outlives every challenge: wrong guesses are counted across them.
            this_code.update(token=None)
            self.refresh_from_db()
            return False
        if code_matches(token.strip(), self.token, context=self._hash_context()):
            # Guarded by the hash it checked: of two checks at once only one clears it.
            won = this_code.update(
                token=None,
                valid_until=now,
                throttling_failure_count=0,
                throttling_failure_timestamp=None,
                last_generated_timestamp=None,
                last_used_at=now,
            )
            self.refresh_from_db()
            return bool(won)
        # Counted in the database, not by save(): a save from a stale copy could bring back a
        # code another check has just used.
        if this_code.update(
            throttling_failure_count=F("throttling_failure_count") + 1,
            throttling_failure_timestamp=now,
        ):
            if test_number is not None and testnumbers.count_wrong_guess(test_number):
                this_code.update(token=None)
            type(self).objects.filter(
                pk=self.pk, throttling_failure_count__gte=voiceotp_settings.MAX_ATTEMPTS
            ).update(token=None)
        self.refresh_from_db()
        return False

    # -- django-otp's settings hooks -------------------------------------------------------------

    def get_cooldown_duration(self) -> int:
        return voiceotp_settings.RESEND_COOLDOWN or 0

    def get_throttle_factor(self) -> int:
        return getattr(settings, "OTP_VOICE_THROTTLE_FACTOR", 1)

    def _test_number(self) -> str | None:
        """The number in the provider's form if it is a test number (its code is fixed), else
        None."""
        try:
            number = limits.allowed_number(self.number)
        except InvalidPhoneNumber:
            return None
        return number if number.is_test else None

    def _hash_context(self) -> str:
        return f"voiceotp_otp.device:{self.pk}"
