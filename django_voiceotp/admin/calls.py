"""Calls in the admin: their list, their page with its timeline, the filter on redials.

Nothing here shows a passcode or a keypress: ``Call.otp`` is in no field, list or form, and
callback payloads are stored with the keypress already redacted.
"""

from __future__ import annotations

from django.contrib import admin
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from ..models import Call
from .actions import CallActionsMixin
from .callback_events import CallbackEventInline
from .display import VoiceOTPMedia, badge_for_test_number, provider_error_text, short_datetime
from .mixins import PhoneNumberSearchMixin
from .sending import SendingPageMixin


def elapsed(start, moment) -> int:
    """Whole seconds from ``start`` to ``moment``; the provider's clock may run a little early."""
    return max(0, int((moment - start).total_seconds()))


class RedialFilter(admin.SimpleListFilter):
    """First calls of their delivery, or redials of a call not reached (``attempt`` above 1)."""

    title = _("attempt")
    parameter_name = "redial"

    def lookups(self, request, model_admin):
        return (("no", _("first call")), ("yes", _("redial")))

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(attempt__gt=1)
        if self.value() == "no":
            return queryset.filter(attempt=1)
        return queryset


@admin.register(Call)
class CallAdmin(SendingPageMixin, CallActionsMixin, PhoneNumberSearchMixin, admin.ModelAdmin):
    list_display = (
        "id",
        "status_badge",
        "masked_phone_number",
        "campaign_display",
        # No duration: with it the list is wider than a 1280 px page; the call's page shows it.
        "created_display",
        "finished_display",
        "failure_reason_display",
    )
    list_display_links = ("id", "masked_phone_number")
    list_filter = (
        "status",
        "failure_code",
        "is_test",
        RedialFilter,
        "fallback_status",
        "provider",
        "campaign",
        "created_at",
    )
    # Phone numbers are stored as sent (0771122330): get_search_results adds that spelling.
    search_fields = ("phone_number", "=provider_call_id")
    search_help_text = _("Search by full or partial phone number, or by provider call id.")
    date_hierarchy = "created_at"
    list_select_related = ("campaign",)
    list_per_page = 50
    inlines = (CallbackEventInline,)
    actions = ("poll_now", "call_again")
    fieldsets = (
        (
            None,
            {
                "fields": (
                    "status_badge",
                    "is_test",
                    "phone_number",
                    "campaign",
                    "failure_code",
                    "failure_reason_text",
                )
            },
        ),
        (
            _("Provider"),
            {
                "fields": (
                    "provider",
                    "provider_call_id",
                    "raw_status",
                    "duration_display",
                    "started_at",
                )
            },
        ),
        (
            _("Delivery"),
            {"fields": ("send_attempts", "next_attempt_at", "poll_count", "next_poll_at")},
        ),
        (
            _("Reaching the person"),
            {
                "fields": (
                    "attempt",
                    "redial_of_link",
                    "redial_link",
                    "fallback_status",
                    "fallback_attempts",
                    "fallback_sent_at",
                    "fallback_delivery",
                    "fallback_message_id",
                )
            },
        ),
        (_("Timeline"), {"fields": ("timeline",)}),
    )
    Media = VoiceOTPMedia

    def get_readonly_fields(self, request, obj=None):
        # Everything on the page came from send_otp or the provider: none of it is edited here.
        return [field for fieldset in self.fieldsets for field in fieldset[1]["fields"]]

    def has_add_permission(self, request):
        # Calls are placed by send_otp, which needs a passcode only the host project has.
        return False

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = {
            # Nothing on the page can be changed: title it as Django titles a view-only page.
            "title": gettext("View %s") % self.opts.verbose_name,
            **(extra_context or {}),
            "show_save": False,
            "show_save_and_continue": False,
            "show_save_and_add_another": False,
        }
        return super().change_view(request, object_id, form_url, extra_context)

    @admin.display(description=_("redial of"))
    def redial_of_link(self, call):
        return self._call_link(call.redial_of)

    @admin.display(description=_("redialed as"))
    def redial_link(self, call):
        try:
            redial = call.redial
        except Call.DoesNotExist:
            redial = None
        return self._call_link(redial)

    def _call_link(self, call):
        if call is None:
            return self.get_empty_value_display()
        url = reverse("admin:django_voiceotp_call_change", args=[call.pk])
        return format_html('<a href="{}">{}</a>', url, call)

    @admin.display(description=_("status"), ordering="status")
    def status_badge(self, call):
        badge = format_html(
            '<span class="voiceotp-badge voiceotp-{}">{}</span>',
            call.status,
            call.get_status_display(),
        )
        return format_html("{} {}", badge, badge_for_test_number()) if call.is_test else badge

    @admin.display(description=_("created"), ordering="created_at")
    def created_display(self, call):
        return short_datetime(call.created_at)

    @admin.display(description=_("finished"), ordering="finished_at")
    def finished_display(self, call):
        return short_datetime(call.finished_at)

    @admin.display(description=_("campaign"), ordering="campaign__campaign_id")
    def campaign_display(self, call):
        # Campaign ids are the provider's or the project's, of any length: cut like the reason.
        name = str(call.campaign)
        return format_html(
            '<span class="voiceotp-truncated voiceotp-truncated-short" title="{}">{}</span>',
            name,
            name,
        )

    @admin.display(description=_("failure reason"), ordering="failure_reason")
    def failure_reason_display(self, call):
        if not call.failure_reason:
            return self.get_empty_value_display()
        # One line, cut by the style sheet; the whole reason in the tooltip and on the call's page.
        text = provider_error_text(call.failure_reason)
        return format_html('<span class="voiceotp-truncated" title="{}">{}</span>', text, text)

    @admin.display(description=_("failure reason"))
    def failure_reason_text(self, call):
        return provider_error_text(call.failure_reason) or self.get_empty_value_display()

    @admin.display(description=_("phone number"), ordering="phone_number")
    def masked_phone_number(self, call):
        return call.masked_phone_number

    @admin.display(description=_("duration"), ordering="duration")
    def duration_display(self, call):
        if call.duration is None:
            return self.get_empty_value_display()
        return gettext("%(seconds)d s") % {"seconds": call.duration}

    @admin.display(description=_("timeline"))
    def timeline(self, call):
        entries = [(call.created_at, gettext("Created; waiting to be sent to the provider"))]
        if call.sent_at:
            entries.append(
                (
                    call.sent_at,
                    gettext("Accepted by the provider as %(id)s")
                    % {"id": call.provider_call_id or "?"},
                )
            )
        if call.started_at:
            entries.append((call.started_at, gettext("The call started (provider's clock)")))
        for event in call.callback_events.all():
            entries.append(
                (
                    event.received_at,
                    gettext("Callback received: %(verdict)s")
                    % {"verdict": event.get_verdict_display()},
                )
            )
        if call.finished_at:
            if call.status == Call.Status.SUCCESS:
                what = gettext("Succeeded: the person answered and heard the passcode")
            else:
                reason = provider_error_text(call.failure_reason) or self.get_empty_value_display()
                what = gettext("Failed: %(reason)s") % {"reason": reason}
            entries.append((call.finished_at, what))
        if call.fallback_sent_at:
            entries.append(
                (call.fallback_sent_at, gettext("Passcode handed to the fallback sender"))
            )
        # The provider's start_time has whole seconds only: compared to the second, the entries
        # keep the order in which they were added (created, sent, started) when they tie.
        entries.sort(key=lambda entry: entry[0].replace(microsecond=0))
        # Dates as the rest of the admin writes them; the seconds since the call was created
        # tell the entries of one minute apart.
        rows = format_html_join(
            "",
            '<li><time datetime="{}">{}</time> <span class="voiceotp-elapsed">{}</span> {}</li>',
            (
                (
                    moment.isoformat(),
                    formats.date_format(timezone.localtime(moment), "DATETIME_FORMAT"),
                    "+" + gettext("%(seconds)d s") % {"seconds": elapsed(call.created_at, moment)},
                    text,
                )
                for moment, text in entries
            ),
        )
        return format_html('<ol class="voiceotp-timeline">{}</ol>', rows)
