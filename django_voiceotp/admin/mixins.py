"""Behaviour shared by the admin's pages: rows only read, and searching by a phone number."""

from __future__ import annotations

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from ..exceptions import VoiceOTPError
from ..phone import normalize_phone_number


class RecordAdminMixin:
    """Rows the app writes (callback events, verifications): read in the admin, never edited.

    Each has a nullable ``call``, linked to its page.
    """

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description=_("call"), ordering="call")
    def call_link(self, record):
        if record.call is None:
            return self.get_empty_value_display()
        url = reverse("admin:django_voiceotp_call_change", args=[record.call_id])
        # Short, so the lists fit the page (a verification's state says when its call failed).
        return format_html(
            '<a href="{}">{}</a>', url, gettext("Call %(id)s") % {"id": record.call_id}
        )


class PhoneNumberSearchMixin:
    """Search also finds a number typed another way: "+84 77 112 2330" finds 0771122330."""

    def get_search_results(self, request, queryset, search_term):
        results, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        try:
            normalized = normalize_phone_number(search_term)
        except VoiceOTPError:
            return results, may_have_duplicates
        return results | queryset.filter(phone_number=normalized), may_have_duplicates
