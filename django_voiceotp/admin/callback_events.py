"""Callback events in the admin: their list, their rows on a call's page, their payloads.

Payloads are stored with the keypress already redacted, and are made safe again when shown.
"""

from __future__ import annotations

import json

from django.contrib import admin
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from .. import payloads
from ..models import CallbackEvent
from .display import VoiceOTPMedia
from .mixins import RecordAdminMixin


def payload_html(event: CallbackEvent):
    """The payload pretty-printed; a body that was not JSON as received; no passcode either way.

    Made safe again here, for rows stored by older versions: redacted, without lone surrogates
    (which no page can encode) and cut below ``MAX_DEPTH`` (which json.dumps would recurse into).
    """
    if event.payload is not None:
        shown = payloads.storable(payloads.capped(event.payload))
        text = json.dumps(shown, indent=2, ensure_ascii=False, sort_keys=True)
    elif event.raw_body:
        text = payloads.storable_text(event.raw_body)
    else:
        return admin.site.empty_value_display
    return format_html('<pre class="voiceotp-payload">{}</pre>', text)


class CallbackEventInline(admin.TabularInline):
    """The callbacks a call received, on the call's page."""

    model = CallbackEvent
    extra = 0
    can_delete = False
    show_change_link = True
    fields = ("received_at", "verdict", "reason", "remote_addr", "payload_display")
    readonly_fields = fields
    ordering = ("received_at",)

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description=_("payload"))
    def payload_display(self, event):
        return payload_html(event)


@admin.register(CallbackEvent)
class CallbackEventAdmin(RecordAdminMixin, admin.ModelAdmin):
    list_display = ("id", "received_at", "verdict", "call_link", "reason", "count", "remote_addr")
    list_filter = ("verdict", "reason", "received_at")
    search_fields = ("=call__provider_call_id",)
    date_hierarchy = "received_at"
    list_select_related = ("call",)
    fields = (
        "call_link",
        "verdict",
        "reason",
        "remote_addr",
        "received_at",
        "count",
        "last_received_at",
        "body_size",
        "payload_display",
    )
    readonly_fields = fields
    Media = VoiceOTPMedia

    @admin.display(description=_("payload"))
    def payload_display(self, event):
        return payload_html(event)
