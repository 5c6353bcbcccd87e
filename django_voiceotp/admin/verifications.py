"""Verifications in the admin: who was sent a code and what became of it; never the code."""

from __future__ import annotations

from django.contrib import admin
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext

from ..models import Call, Verification
from .display import VoiceOTPMedia, badge_for_test_number, short_datetime
from .mixins import PhoneNumberSearchMixin, RecordAdminMixin


@admin.register(Verification)
class VerificationAdmin(RecordAdminMixin, PhoneNumberSearchMixin, admin.ModelAdmin):
    """Who was sent a code and what became of it; never the code, nor its hash."""

    list_display = (
        "created_display",
        "masked_phone_number",
        "state_display",
        "attempts",
        "expires_display",
        # No "verified" time: the state says it, the page has the time, and the list fits 1280 px.
        "call_link",
        "client_ip",
    )
    list_filter = ("state", "is_test", "created_at")
    # Stored as sent (0771122330): get_search_results adds that spelling, as for calls.
    search_fields = ("phone_number", "=client_ip")
    search_help_text = _("Search by full or partial phone number, or by client IP.")
    date_hierarchy = "created_at"
    list_select_related = ("call",)
    list_per_page = 50
    # code_hash is in no list, field or form: a hash of a six-digit code is as good as the code.
    fields = (
        "id",
        "phone_number",
        "state_display",
        "is_test",
        "attempts",
        "created_at",
        "expires_at",
        "verified_at",
        "call_link",
        "client_ip",
    )
    readonly_fields = fields
    Media = VoiceOTPMedia

    @admin.display(description=_("phone number"), ordering="phone_number")
    def masked_phone_number(self, verification):
        return verification.masked_phone_number

    @admin.display(description=_("created"), ordering="created_at")
    def created_display(self, verification):
        return short_datetime(verification.created_at)

    @admin.display(description=_("expires"), ordering="expires_at")
    def expires_display(self, verification):
        return short_datetime(verification.expires_at)

    @admin.display(description=_("state"), ordering="state")
    def state_display(self, verification):
        state = self._state_text(verification)
        return (
            format_html("{} {}", state, badge_for_test_number()) if verification.is_test else state
        )

    def _state_text(self, verification):
        # "pending" stays in the database when the code can no longer come: say what it is.
        if verification.state == Verification.State.PENDING:
            call = verification.call
            if call is not None and call.status == Call.Status.FAILED:
                return pgettext("verification state", "call failed")
            if verification.is_expired:
                return pgettext("verification state", "expired")
        return verification.get_state_display()
