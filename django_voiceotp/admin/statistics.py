"""Campaign statistics for the admin: calls and conversions per day, and the success rate."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.db.models import Count, Q
from django.db.models.functions import TruncDate
from django.utils import timezone

from ..models import Call, Campaign, Verification

# Calls to test numbers (TEST_NUMBERS) were never placed: counted apart, in no other figure.
REAL = Q(is_test=False)
SUCCESS = REAL & Q(status=Call.Status.SUCCESS)
FAILED = REAL & Q(status=Call.Status.FAILED)
TEST = Q(is_test=True)


def success_rate(success: int, failed: int) -> float | None:
    """Share of finished calls that succeeded; None when none has finished.

    Calls still pending or sent count neither way: they have not failed yet.
    """
    finished = success + failed
    return success / finished if finished else None


@dataclass(frozen=True)
class Day:
    day: date
    #: Calls placed; ``test`` counts those recorded for test numbers, which are in no other figure.
    total: int
    success: int
    failed: int
    test: int = 0

    @property
    def in_progress(self) -> int:
        return self.total - self.success - self.failed

    @property
    def success_rate(self) -> float | None:
        return success_rate(self.success, self.failed)


def _window(days: int, today: date | None) -> tuple[list[date], datetime]:
    """The last ``days`` calendar days (in the current time zone), oldest first, and the moment
    the first of them began."""
    first = (today or timezone.localdate()) - timedelta(days=days - 1)
    calendar = [first + timedelta(days=offset) for offset in range(days)]
    return calendar, timezone.make_aware(datetime.combine(first, time.min))


def daily_stats(campaign: Campaign, days: int, *, today: date | None = None) -> list[Day]:
    """One ``Day`` per calendar day (in the current time zone) of the last ``days``, oldest first,
    days without calls included. Test calls are counted apart (``Day.test``)."""
    calendar, start = _window(days, today)
    rows = (
        Call.objects.filter(campaign=campaign, created_at__gte=start)
        .annotate(day=TruncDate("created_at", tzinfo=timezone.get_current_timezone()))
        .values("day")
        .annotate(
            total=Count("pk", REAL),
            success=Count("pk", SUCCESS),
            failed=Count("pk", FAILED),
            test=Count("pk", TEST),
        )
    )
    by_day: dict = {row["day"]: row for row in rows}
    result = []
    for day in calendar:
        row = by_day.get(day, {})
        result.append(
            Day(
                day,
                total=row.get("total", 0),
                success=row.get("success", 0),
                failed=row.get("failed", 0),
                test=row.get("test", 0),
            )
        )
    return result


@dataclass(frozen=True)
class Conversion:
    """What one day's deliveries came to: what redials and the fallback buy a team.

    A delivery is a passcode given to ``send_otp``: its first call, then any redials (which keep
    its day, ``created_at``), then perhaps the fallback.
    """

    day: date
    deliveries: int
    answered_first_call: int
    answered_on_redial: int
    handed_to_fallback: int
    #: Codes of ``request_code`` checked right, of the day's deliveries.
    verified: int


def daily_conversion(
    campaign: Campaign, days: int, *, today: date | None = None
) -> list[Conversion]:
    """One ``Conversion`` per calendar day of the last ``days``, oldest first, empty days too."""
    calendar, start = _window(days, today)
    zone = timezone.get_current_timezone()
    calls = (
        Call.objects.filter(campaign=campaign, created_at__gte=start)
        .annotate(day=TruncDate("created_at", tzinfo=zone))
        .values("day")
        .annotate(
            deliveries=Count("pk", REAL & Q(attempt=1)),
            answered_first_call=Count("pk", SUCCESS & Q(attempt=1)),
            answered_on_redial=Count("pk", SUCCESS & Q(attempt__gt=1)),
            handed_to_fallback=Count("pk", REAL & Q(fallback_status=Call.FallbackStatus.SENT)),
        )
    )
    verified = (
        Verification.objects.filter(
            call__campaign=campaign,
            call__created_at__gte=start,
            state=Verification.State.VERIFIED,
            is_test=False,
        )
        .annotate(day=TruncDate("call__created_at", tzinfo=zone))
        .values("day")
        .annotate(count=Count("pk"))
    )
    by_day: dict = {row["day"]: row for row in calls}
    verified_by_day = {row["day"]: row["count"] for row in verified}
    result = []
    for day in calendar:
        row = by_day.get(day, {})
        result.append(
            Conversion(
                day=day,
                deliveries=row.get("deliveries", 0),
                answered_first_call=row.get("answered_first_call", 0),
                answered_on_redial=row.get("answered_on_redial", 0),
                handed_to_fallback=row.get("handed_to_fallback", 0),
                verified=verified_by_day.get(day, 0),
            )
        )
    return result
