"""Campaigns in the admin: their list with the last week's figures, and their summary page."""

from __future__ import annotations

from datetime import timedelta

from django import forms
from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q
from django.http import Http404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from ..models import Call, Campaign
from ..providers import default_provider_name, provider_entries
from .chart import build_chart
from .display import VoiceOTPMedia
from .statistics import daily_conversion, daily_stats, success_rate

#: Days counted by the campaign list's "last 7 days" columns.
RECENT_DAYS = 7
#: Periods the campaign summary page offers, in days.
SUMMARY_PERIODS = (7, 14, 30, 90)
DEFAULT_SUMMARY_PERIOD = 14


class CampaignForm(forms.ModelForm):
    """The provider is one of those PROVIDERS names (the default provider when left empty): a
    typo would leave every call of the campaign without a provider to place it."""

    provider = forms.ChoiceField(
        label=_("provider"),
        required=False,
        help_text=_("The provider that places the campaign's calls; empty: the default one."),
    )

    class Meta:
        model = Campaign
        fields = ("campaign_id", "name", "provider", "is_active")

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        names = list(provider_entries())
        if self.instance.pk and self.instance.provider not in names:
            names.append(self.instance.provider)  # as stored, though no longer configured
        field = self.fields["provider"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [("", "---------")] + [(name, name) for name in names]

    def clean_provider(self) -> str:
        return self.cleaned_data["provider"] or default_provider_name()


@admin.register(Campaign)
class CampaignAdmin(admin.ModelAdmin):
    form = CampaignForm
    list_display = (
        "__str__",
        "campaign_id",
        "is_active",
        "recent_calls",
        "recent_success_rate",
        "summary_link",
    )
    list_filter = ("is_active", "provider")
    search_fields = ("name", "campaign_id")
    readonly_fields = ("created_at", "updated_at", "summary_link")
    fields = (
        "campaign_id",
        "name",
        "provider",
        "is_active",
        "summary_link",
        "created_at",
        "updated_at",
    )
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
        rate = success_rate(campaign.recent_success, campaign.recent_failed)
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
        days = daily_stats(campaign, period)
        conversion = daily_conversion(campaign, period)
        total = sum(day.total for day in days)
        success = sum(day.success for day in days)
        failed = sum(day.failed for day in days)
        test = sum(day.test for day in days)
        rate = success_rate(success, failed)
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
            "chart": build_chart(days),
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
