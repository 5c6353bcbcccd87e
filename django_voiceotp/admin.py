"""The Django admin: campaigns and their results, calls and their history, callback events.

Nothing here shows a passcode or a keypress: ``Call.otp`` is in no field, list or form, and
callback payloads are stored with the keypress already redacted.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import timedelta

from django.contrib import admin, messages
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.admin.utils import unquote
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import formats, timezone
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext, ngettext, pgettext
from django.utils.translation import gettext_lazy as _

from . import limits, payloads, reports, results, sending
from .conf import voiceotp_settings
from .exceptions import VoiceOTPError
from .models import Call, CallbackEvent, Campaign, Verification
from .phone import normalize_phone_number

logger = logging.getLogger("django_voiceotp")

#: Days counted by the campaign list's "last 7 days" columns.
RECENT_DAYS = 7
#: Periods the campaign summary page offers, in days.
SUMMARY_PERIODS = (7, 14, 30, 90)
DEFAULT_SUMMARY_PERIOD = 14


class VoiceOTPMedia:
    css = {"all": ("django_voiceotp/admin.css",)}


def short_datetime(moment):
    """A date and time in the list columns: the language's short format, local time, wrappable.

    Django's long format ("Dec. 2, 2026, 1:17 a.m.") kept on one line made the lists wider than
    the page. ``None`` lets the admin write its empty-cell marker.
    """
    if moment is None:
        return None
    local = timezone.localtime(moment)
    return format_html(
        '<time datetime="{}">{}</time>',
        moment.isoformat(),
        formats.date_format(local, "SHORT_DATETIME_FORMAT"),
    )


def elapsed(start, moment) -> int:
    """Whole seconds from ``start`` to ``moment``; the provider's clock may run a little early."""
    return max(0, int((moment - start).total_seconds()))


def provider_error_text(text: str) -> str:
    """A provider error as a sentence: its message ends in a full stop before "; HTTP 404"."""
    return text.replace(".; ", "; ")


# -- campaigns -----------------------------------------------------------------------------------


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


@admin.register(Campaign)
class CampaignAdmin(admin.ModelAdmin):
    list_display = (
        "__str__",
        "campaign_id",
        "is_active",
        "recent_calls",
        "recent_success_rate",
        "summary_link",
    )
    list_filter = ("is_active",)
    search_fields = ("name", "campaign_id")
    readonly_fields = ("created_at", "updated_at", "summary_link")
    fields = ("campaign_id", "name", "is_active", "summary_link", "created_at", "updated_at")
    Media = VoiceOTPMedia

    def get_queryset(self, request):
        # Counted in the one query of the list, however many campaigns it shows.
        # Calls to test numbers were never placed: they count in no figure of the list.
        recent = Q(
            calls__created_at__gte=timezone.now() - timedelta(days=RECENT_DAYS),
            calls__is_test=False,
        )
        return (
            super()
            .get_queryset(request)
            .annotate(
                recent_total=Count("calls", filter=recent),
                recent_success=Count("calls", filter=recent & Q(calls__status=Call.Status.SUCCESS)),
                recent_failed=Count("calls", filter=recent & Q(calls__status=Call.Status.FAILED)),
            )
        )

    @admin.display(description=_("calls, last 7 days"), ordering="recent_total")
    def recent_calls(self, campaign):
        return campaign.recent_total

    @admin.display(description=_("success rate, last 7 days"))
    def recent_success_rate(self, campaign):
        rate = reports.success_rate(campaign.recent_success, campaign.recent_failed)
        return self.get_empty_value_display() if rate is None else f"{rate:.0%}"

    @admin.display(description=_("summary"))
    def summary_link(self, campaign):
        if campaign.pk is None:
            return self.get_empty_value_display()
        url = reverse("admin:django_voiceotp_campaign_summary", args=[campaign.pk])
        return format_html('<a href="{}">{}</a>', url, gettext("Calls per day"))

    def get_urls(self):
        summary = path(
            "<path:object_id>/summary/",
            self.admin_site.admin_view(self.summary_view),
            name="django_voiceotp_campaign_summary",
        )
        return [summary, *super().get_urls()]

    def summary_view(self, request, object_id):
        # get_object, as the change page does: an id that is not a number is a 404, not a 500.
        campaign = self.get_object(request, unquote(object_id))
        if campaign is None:
            raise Http404
        if not self.has_view_permission(request, campaign):
            raise PermissionDenied
        try:
            period = int(request.GET.get("days", DEFAULT_SUMMARY_PERIOD))
        except ValueError:
            period = DEFAULT_SUMMARY_PERIOD
        if period not in SUMMARY_PERIODS:
            period = DEFAULT_SUMMARY_PERIOD
        days = reports.daily_stats(campaign, period)
        conversion = reports.daily_conversion(campaign, period)
        total = sum(day.total for day in days)
        success = sum(day.success for day in days)
        failed = sum(day.failed for day in days)
        test = sum(day.test for day in days)
        rate = reports.success_rate(success, failed)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": gettext("Calls per day: %(campaign)s") % {"campaign": campaign},
            "campaign": campaign,
            "period": period,
            "periods": SUMMARY_PERIODS,
            "days": list(reversed(days)),
            "conversion": list(reversed(conversion)),
            "conversion_totals": {
                name: sum(getattr(day, name) for day in conversion)
                for name in (
                    "deliveries",
                    "answered_first_call",
                    "answered_on_redial",
                    "handed_to_fallback",
                    "verified",
                )
            },
            "chart": reports.build_chart(days),
            "total": total,
            "success": success,
            "failed": failed,
            "in_progress": total - success - failed,
            "test": test,
            "rate": self.get_empty_value_display() if rate is None else f"{rate:.0%}",
            "empty_value_display": self.get_empty_value_display(),
            "calls_url": reverse("admin:django_voiceotp_call_changelist")
            + f"?campaign__id__exact={campaign.pk}",
        }
        return TemplateResponse(request, "admin/django_voiceotp/campaign/summary.html", context)


# -- calls ---------------------------------------------------------------------------------------


def badge_for_test_number():
    """The mark beside a call or a verification of a test number (TEST_NUMBERS)."""
    return format_html('<span class="voiceotp-badge voiceotp-test">{}</span>', _("test"))


class CallbackEventInline(admin.TabularInline):
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


@dataclass(frozen=True)
class Spending:
    """What the limits cache says of the site's budget and the switch, or why it cannot say."""

    paused: bool = False
    budget: tuple[limits.BudgetUse, ...] = ()
    #: The class of the error that kept the cache from answering, else empty.
    error: str = ""


def read_spending(request) -> Spending:
    """The site's budget and the switch, read once per request.

    Any error is caught: the limits cache may be down (Redis unreachable) or refused (a
    non-atomic backend), and that incident is when operators most need the admin. It is logged
    once, by its class only (a cache's message may hold its address and password).
    """
    cached = getattr(request, "_voiceotp_spending", None)
    if cached is not None:
        return cached
    try:
        # The budget first: a refused cache raises before the switch is read from it.
        budget = tuple(limits.site_budget())
        spending = Spending(paused=limits.sending_paused(), budget=budget)
    except Exception as error:  # noqa: BLE001 -- whatever the cache raises, the page renders
        logger.warning(
            "The site budget cannot be read from the limits cache: %s", type(error).__name__
        )
        spending = Spending(error=type(error).__name__)
    request._voiceotp_spending = spending
    return spending


def spending_messages(request) -> list[str]:
    """What the list of calls says when no call can be placed: the site's budget is reached,
    sending is paused, or the budget cannot be read. Each links to the page that shows the
    budget and holds the switch."""
    spending = read_spending(request)
    url = reverse("admin:django_voiceotp_call_sending")
    texts = []
    if spending.error:
        texts.append(
            gettext("The site budget cannot be read: %(error)s.") % {"error": spending.error}
        )
    if spending.paused:
        texts.append(gettext("Sending is paused: no call or fallback message is placed."))
    for use in spending.budget:
        if not use.reached:
            continue
        texts.append(
            gettext(
                "Site budget reached: %(limit)s has used %(used)d of %(count)d; nothing more is "
                "placed for %(seconds)d s."
            )
            % {"limit": use.name, "used": use.used, "count": use.count, "seconds": use.resets_in}
        )
    return [format_html('{} <a href="{}">{}</a>', text, url, gettext("Sending")) for text in texts]


@admin.register(Call)
class CallAdmin(PhoneNumberSearchMixin, admin.ModelAdmin):
    list_display = (
        "id",
        "status_badge",
        "masked_phone_number",
        "campaign",
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
            {"fields": ("provider_call_id", "raw_status", "duration_display", "started_at")},
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
                )
            },
        ),
        (_("Timeline"), {"fields": ("timeline",)}),
    )
    Media = VoiceOTPMedia

    def changelist_view(self, request, extra_context=None):
        if request.method == "GET":
            for message in spending_messages(request):
                self.message_user(request, message, messages.ERROR)
        return super().changelist_view(request, extra_context)

    def get_urls(self):
        sending = path(
            "sending/",
            self.admin_site.admin_view(self.sending_view),
            name="django_voiceotp_call_sending",
        )
        return [sending, *super().get_urls()]

    def sending_view(self, request):
        """The site's budget and the kill switch: pausing stops every call and fallback message
        in every process at once (the switch is kept in the limits cache)."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        may_switch = self.has_change_permission(request)
        if request.method == "POST":
            if not may_switch:
                raise PermissionDenied
            if "pause" in request.POST:
                self._switch(request, "pause", limits.pause_sending)
            elif "resume" in request.POST:
                self._switch(request, "resume", limits.resume_sending)
            return HttpResponseRedirect(request.path)
        spending = read_spending(request)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": gettext("Sending"),
            "spending": spending,
            "paused_by_setting": bool(voiceotp_settings.SENDING_PAUSED),
            "may_switch": may_switch,
        }
        return TemplateResponse(request, "admin/django_voiceotp/call/sending.html", context)

    def _switch(self, request, action: str, flip) -> None:
        """Pause or resume sending, say so, and keep who did it: the WARNING line names the
        user's pk, for whoever looks back at an outage or at a bill."""
        try:
            flip()
        except Exception as error:  # noqa: BLE001 -- a cache that fails is said, not a 500
            logger.warning(
                "Sending could not be %s from the admin by user pk=%s: %s",
                "paused" if action == "pause" else "resumed",
                request.user.pk,
                type(error).__name__,
            )
            text = (
                gettext("Sending could not be paused: %(error)s.")
                if action == "pause"
                else gettext("Sending could not be resumed: %(error)s.")
            )
            self.message_user(request, text % {"error": type(error).__name__}, messages.ERROR)
            return
        # Also in the admin's own history ("Recent actions"), on the calls' model: the switch
        # is no object, so the entry has no object id.
        LogEntry.objects.create(
            user_id=request.user.pk,
            content_type=ContentType.objects.get_for_model(Call),
            object_repr=gettext("Sending"),
            action_flag=CHANGE,
            change_message="Paused sending." if action == "pause" else "Resumed sending.",
        )
        if action == "pause":
            logger.warning("Sending paused from the admin by user pk=%s.", request.user.pk)
            self.message_user(request, gettext("Sending is paused."), messages.WARNING)
        else:
            logger.warning("Sending resumed from the admin by user pk=%s.", request.user.pk)
            self.message_user(request, gettext("Sending is resumed."), messages.SUCCESS)

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

    @admin.action(description=_("Poll status now"), permissions=["change"])
    def poll_now(self, request, queryset):
        awaiting = list(queryset.filter(status=Call.Status.SENT).values_list("pk", flat=True))
        skipped = queryset.count() - len(awaiting)
        for call_id in awaiting:
            results.poll_call(call_id, force=True)
        finished = Call.objects.filter(pk__in=awaiting, status__in=Call.FINAL_STATUSES).count()
        if awaiting:
            self.message_user(
                request,
                ngettext(
                    "Polled %(count)d call; %(finished)d now has a result.",
                    "Polled %(count)d calls; %(finished)d now have a result.",
                    len(awaiting),
                )
                % {"count": len(awaiting), "finished": finished},
                messages.SUCCESS,
            )
        if skipped:
            self.message_user(
                request,
                ngettext(
                    "%(count)d call was not polled: only a call awaiting its result can be.",
                    "%(count)d calls were not polled: only a call awaiting its result can be.",
                    skipped,
                )
                % {"count": skipped},
                messages.WARNING,
            )

    @admin.action(description=_("Call again with the same passcode"), permissions=["change"])
    def call_again(self, request, queryset):
        for call in queryset.select_related("campaign"):
            try:
                new_call = sending.call_again(call)
            except VoiceOTPError as err:
                self.message_user(
                    request,
                    gettext("Call %(id)s cannot be placed again: %(reason)s")
                    % {"id": call.pk, "reason": provider_error_text(str(err))},
                    messages.WARNING,
                )
            else:
                self.message_user(
                    request,
                    gettext("Call %(id)s is placed again as call %(new_id)s.")
                    % {"id": call.pk, "new_id": new_call.pk},
                    messages.SUCCESS,
                )


# -- callback events -----------------------------------------------------------------------------


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


# -- verifications -------------------------------------------------------------------------------


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
