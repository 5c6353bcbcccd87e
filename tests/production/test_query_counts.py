"""SQL queries per send_otp, per send, per callback and per poll, on PostgreSQL: fixed counts that
do not grow with the number of calls in the table.

The counts are the app's own: rows the example project's signal receivers write (signal_log) are
the host's cost, left out. The calls measured are out of the sweeper's reach (no poll or retry
due), so the running workers never touch them.
"""

from __future__ import annotations

import json
import uuid
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from django_voiceotp import results, send_otp, sending, sweeping
from django_voiceotp.callback_urls import callback_url_for
from django_voiceotp.models import Call, Campaign
from django_voiceotp.sealing import seal_otp

from .stack import METRICS

pytestmark = pytest.mark.django_db(transaction=True)

FAR = timedelta(hours=1)


#: Transaction control, which Django's PostgreSQL backend also logs: not queries.
TRANSACTION_STATEMENTS = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE SAVEPOINT")


def app_queries(queries) -> list[str]:
    return [
        q["sql"]
        for q in queries
        if "signal_log_" not in q["sql"] and not q["sql"].startswith(TRANSACTION_STATEMENTS)
    ]


def fill_table(count: int) -> None:
    campaign, _ = Campaign.objects.get_or_create(campaign_id="c78af")
    now = timezone.now()
    Call.objects.bulk_create(
        (
            Call(
                campaign=campaign,
                phone_number=f"076{index:07d}",
                status=Call.Status.SUCCESS,
                provider_call_id=str(uuid.uuid4()),
                sent_at=now,
                finished_at=now,
            )
            for index in range(count)
        ),
        batch_size=2000,
    )


def measure(stack, client) -> dict[str, int]:
    """Queries of each operation on one call, through the code the processes run."""
    Campaign.objects.get_or_create(campaign_id="c78af")  # a project's campaign exists already
    counts = {}
    with CaptureQueriesContext(connection) as queries:
        send_otp("0771122330", "482915")  # its task goes to the workers, not counted here
    counts["send_otp"] = len(app_queries(queries))

    campaign = Campaign.objects.get(campaign_id="c78af")
    call = Call.objects.create(
        campaign=campaign,
        phone_number="0771122331",
        otp=seal_otp("482915"),
        next_attempt_at=timezone.now() + FAR,
    )
    with CaptureQueriesContext(connection) as queries:
        sending.send_call(call.pk)  # the send task's work: the provider call
    counts["send"] = len(app_queries(queries))
    assert Call.objects.get(pk=call.pk).status == Call.Status.SENT

    call.refresh_from_db()
    Call.objects.filter(pk=call.pk).update(next_poll_at=timezone.now() + FAR)
    with CaptureQueriesContext(connection) as queries:
        results.poll_call(call.pk, force=True)  # still in progress at the sandbox
    counts["poll (in progress)"] = len(app_queries(queries))

    body = {"call_id": call.provider_call_id, "status": "Success", "duration": 11}
    with CaptureQueriesContext(connection) as queries:
        response = client.post(
            callback_url_for(call), data=json.dumps(body), content_type="application/json"
        )
    assert response.status_code == 200 and response.json()["verdict"] == "applied"
    counts["callback"] = len(app_queries(queries))
    return counts


def test_queries_per_operation_do_not_grow_with_the_table(stack, client):
    stack.sandbox.reset(call_duration=60)  # the poll sees the call in progress
    small = measure(stack, client)
    fill_table(20_000)
    large = measure(stack, client)

    METRICS["queries per operation (PostgreSQL)"] = small
    assert small == large
    assert small["callback"] <= 3
    assert small == {"send_otp": 2, "send": 2, "poll (in progress)": 3, "callback": 3}


def test_the_sweeper_finds_due_calls_through_indexes(stack):
    """The sweeper's three queries on a large table: index scans, never a sequential scan."""
    fill_table(20_000)
    campaign = Campaign.objects.get(campaign_id="c78af")
    past = timezone.now() - timedelta(seconds=1)
    Call.objects.bulk_create(  # pending, their send not yet due: out of the workers' way
        Call(campaign=campaign, phone_number=f"074{i:07d}", next_attempt_at=past + FAR)
        for i in range(50)
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE django_voiceotp_call")
    now = timezone.now()
    due = [  # as sweeping.calls_due_for_send and calls_due_for_poll
        Call.objects.due_for_send(now).order_by("next_attempt_at").values_list("pk", flat=True),
        Call.objects.due_for_poll(now).order_by("next_poll_at").values_list("pk", flat=True),
    ]
    for queryset in due:
        plan = queryset[: sweeping.SWEEP_BATCH].explain()
        # Read in index order and stopped at the batch: no full scan, no sort of the due set.
        assert "Index" in plan and "Seq Scan" not in plan and "Sort" not in plan, plan
    # expire_stale_calls: PostgreSQL may sort the few pending calls it found by index; no full scan.
    plan = sweeping.stale_calls(now + FAR).order_by("created_at")[: sweeping.SWEEP_BATCH].explain()
    assert "Index" in plan and "Seq Scan" not in plan, plan
