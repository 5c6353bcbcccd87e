"""Where a user's phone number is kept for django-allauth's phone sign-up and login."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from ...phone import mask_phone_number


class PhoneNumber(models.Model):
    """One phone number per user, as allauth's adapter API has it (``get_phone`` returns one)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="voiceotp_phone_number",
        verbose_name=_("user"),
    )
    # E.164 (at most 15 digits after the "+"): one spelling per number, whatever was typed, so
    # "0771122340" and "+84 77 112 2340" are the same account.
    phone = models.CharField(
        _("phone number"),
        max_length=16,
        db_index=True,
        help_text=_("In international form (E.164), e.g. +84771122340."),
    )
    verified = models.BooleanField(
        _("verified"),
        default=False,
        help_text=_("Whether its owner has typed a code read out to this number."),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("phone number")
        verbose_name_plural = _("phone numbers")
        constraints = [
            # One account per number once verified. Before that a number proves nothing: a
            # stranger signing up with someone's number must not keep its owner from signing up.
            models.UniqueConstraint(
                fields=["phone"],
                condition=models.Q(verified=True),
                name="voiceotp_allauth_one_verified_number",
            )
        ]

    def __str__(self) -> str:
        return mask_phone_number(self.phone)
