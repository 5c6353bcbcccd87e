"""voiceotp_purge: old calls and events go, in batches; recent ones stay."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from django_voiceotp.models import Call, CallbackEvent, Campaign

pytestmark = pytest.mark.django_db


@pytest.fixture
def history():
    """Five calls 40 days old with an event each, one recent call, one old orphan event."""
    campaign = Campaign.objects.create(campaign_id="c78af")
    long_ago = timezone.now() - timedelta(days=40)
    old_calls = [
        Call.objects.create(
            campaign=campaign, phone_number=f"077112233{index}", created_at=long_ago
        )
        for index in range(5)
    ]
    for call in old_calls:
        # Received recently (a late callback): it goes with its call all the same.
        CallbackEvent.objects.create(call=call, verdict="applied")
    recent = Call.objects.create(campaign=campaign, phone_number="0771122339")
    recent_event = CallbackEvent.objects.create(call=recent, verdict="applied")
    CallbackEvent.objects.create(verdict="bad_token", received_at=long_ago)
    return recent, recent_event


def run(*args):
    out = StringIO()
    call_command("voiceotp_purge", *args, stdout=out)
    return out.getvalue()


def test_deletes_old_calls_with_their_events_and_old_events(history):
    recent, recent_event = history
    out = run("--older-than", "30")
    assert "Deleted 5 call(s) and 6 callback event(s) older than 30 day(s)." in out
    assert list(Call.objects.all()) == [recent]
    assert list(CallbackEvent.objects.all()) == [recent_event]


def test_works_in_batches(history):
    with CaptureQueriesContext(connection) as queries:
        run("--older-than", "30", "--batch-size", "2")
    call_deletes = [q for q in queries if q["sql"].startswith('DELETE FROM "django_voiceotp_call"')]
    assert len(call_deletes) == 3  # 2 + 2 + 1
    assert Call.objects.count() == 1


def test_dry_run_deletes_nothing(history):
    out = run("--older-than", "30", "--dry-run")
    assert "Would delete 5 call(s) and 6 callback event(s)" in out
    assert Call.objects.count() == 6 and CallbackEvent.objects.count() == 7


def test_nothing_recent_is_touched(history):
    assert "Deleted 0 call(s) and 0 callback event(s)" in run("--older-than", "60")
    assert Call.objects.count() == 6


@pytest.mark.parametrize("days", ["0", "-3", "soon"])
def test_days_must_be_a_positive_whole_number(days):
    with pytest.raises(CommandError, match="at least 1"):
        call_command("voiceotp_purge", "--older-than", days)


def test_days_are_required():
    with pytest.raises(CommandError, match="--older-than"):
        call_command("voiceotp_purge")
