"""Campaign statistics: calls per day in the current time zone, and the success rate."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from django_voiceotp.admin import statistics
from django_voiceotp.models import Call, Campaign

HO_CHI_MINH = ZoneInfo("Asia/Ho_Chi_Minh")


def test_success_rate_counts_finished_calls_only():
    assert statistics.success_rate(3, 1) == 0.75
    assert statistics.success_rate(0, 0) is None


@pytest.mark.django_db
def test_days_are_calendar_days_of_the_current_time_zone(settings):
    settings.TIME_ZONE = "Asia/Ho_Chi_Minh"
    campaign = Campaign.objects.create(campaign_id="c78af")
    today = date(2026, 11, 28)
    # 23:30 on the 27th in Vietnam is 16:30 UTC: it belongs to the 27th, not the 28th.
    late_evening = datetime(2026, 11, 27, 23, 30, tzinfo=HO_CHI_MINH)
    early_morning = datetime(2026, 11, 28, 0, 30, tzinfo=HO_CHI_MINH)
    Call.objects.create(campaign=campaign, phone_number="0771122330", created_at=late_evening)
    Call.objects.create(
        campaign=campaign, phone_number="0771122330", created_at=early_morning, status="success"
    )
    Call.objects.create(
        campaign=campaign,
        phone_number="0771122330",
        created_at=early_morning - timedelta(days=10),
    )
    with timezone.override(HO_CHI_MINH):
        days = statistics.daily_stats(campaign, 7, today=today)
    assert [day.day for day in days] == [today - timedelta(days=n) for n in range(6, -1, -1)]
    assert [(day.total, day.success) for day in days[-2:]] == [(1, 0), (1, 1)]
    assert sum(day.total for day in days) == 2
