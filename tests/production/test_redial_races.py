"""Redial and fallback races on PostgreSQL: callbacks, polls and duplicated tasks at once."""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from django_voiceotp import callback_urls, results, tasks
from django_voiceotp.callbacks import receive_callback
from django_voiceotp.models import Call, Campaign
from django_voiceotp.provider_reports import parse_report
from django_voiceotp.sealing import seal_otp
from django_voiceotp.signals import call_failed

from .. import fallback_senders

pytestmark = pytest.mark.django_db(transaction=True)

OTP = "482915"
RACERS = 8  # half post the callback, half apply a poll's report, all at once


@pytest.fixture
def delivery_settings(settings):
    settings.VOICEOTP = {
        **settings.VOICEOTP,
        "REDIAL_MAX": 1,
        # Not due while the test runs: the tier's beat and workers, running beside this test on
        # the same database, would otherwise send the redial the test sends itself.
        "REDIAL_DELAY": 120,  # within OTP_MAX_AGE, or no redial is placed
        "FALLBACK_SENDER": "tests.fallback_senders.record",
        "CALLBACK_BASE_URL": "http://testserver",
    }
    fallback_senders.reset()
    yield
    fallback_senders.reset()


@pytest.fixture
def failures():
    """(call id, redial id or None) of every call_failed, from any thread."""
    seen, lock = [], threading.Lock()

    def record(sender, call, redial, **kwargs):
        with lock:
            seen.append((call.pk, redial and redial.pk))

    call_failed.connect(record, weak=False, dispatch_uid="redial-races")
    yield seen
    call_failed.disconnect(dispatch_uid="redial-races")


@pytest.fixture
def enqueued_redials(dispatched):
    """The redials handed to the queue, as (call id, delay), kept from the tier's workers: the
    test sends the redial."""
    return lambda: [
        (job.call_id, job.delay) for job in dispatched.outbox if job.job == "send_redial"
    ]


@pytest.fixture
def enqueued_fallbacks(dispatched):
    """The fallbacks handed to the queue after commit: no worker runs them, the test does."""
    return dispatched.call_ids["run_fallback"]


def sent_call(call: Call | None = None, *, provider_call_id: str) -> Call:
    """A call the provider accepted (a redial is first sent as the send task would)."""
    if call is None:
        campaign, _ = Campaign.objects.get_or_create(campaign_id="c78af")
        call = Call.objects.create(campaign=campaign, phone_number="0771122330", otp=seal_otp(OTP))
    Call.objects.filter(pk=call.pk).update(status="sent", provider_call_id=provider_call_id)
    return Call.objects.get(pk=call.pk)


def race_reports(call: Call, status: str) -> None:
    """The same final report, by callback and by poll, from RACERS threads at once."""
    body = {
        "call_id": call.provider_call_id,
        "campaign_id": "c78af",
        "phone_number": call.phone_number,
        "status": status,
        "duration": 0,
        "keypress": "",
        "start_time": "",
        "user_id": "f461",
    }
    token = callback_urls.callback_token_for(call)
    barrier = threading.Barrier(RACERS)

    def report(index: int) -> None:
        try:
            barrier.wait()
            if index % 2:
                receive_callback(
                    token,
                    json.dumps(body).encode(),
                    content_type="application/json",
                    remote_addr="127.0.0.1",
                )
            else:
                results.apply_report(Call.objects.get(pk=call.pk), parse_report(body))
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=RACERS) as pool:
        list(pool.map(report, range(RACERS)))


def race(function, *args) -> None:
    barrier = threading.Barrier(RACERS)

    def run(_):
        try:
            barrier.wait()
            function(*args)
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=RACERS) as pool:
        list(pool.map(run, range(RACERS)))


def test_racing_reports_redial_once_then_hand_over_once(
    delivery_settings, failures, enqueued_redials, enqueued_fallbacks
):
    first = sent_call(provider_call_id="first-call")
    race_reports(first, "BUSY")
    (redial,) = Call.objects.filter(redial_of=first)
    assert Call.objects.count() == 2
    assert failures == [(first.pk, redial.pk)]
    assert (redial.status, redial.attempt) == ("pending", 2)
    assert enqueued_redials() == [(redial.pk, 120)]

    # The redial is accepted by the provider, as its send task would record, and fails too.
    redial = sent_call(redial, provider_call_id="the-redial")
    race_reports(redial, "BUSY")
    assert Call.objects.count() == 2  # REDIAL_MAX reached: no third call
    assert failures == [(first.pk, redial.pk), (redial.pk, None)]
    assert enqueued_fallbacks == [redial.pk]

    # Duplicated fallback tasks and the sweeper's copy, all at once: one hand-over.
    race(tasks.run_fallback, redial.pk)
    race(tasks.poll_pending_calls)
    for call_id in list(enqueued_fallbacks):  # and the copies the sweepers handed over
        tasks.run_fallback(call_id)
    handed = [(otp == OTP, pk) for phone, otp, pk in fallback_senders.handed]
    assert handed == [(True, redial.pk)]
    redial.refresh_from_db()
    assert (redial.fallback_status, redial.fallback_attempts, redial.otp) == ("sent", 1, "")


def test_racing_reports_of_a_success_hand_nothing_over(
    delivery_settings, failures, enqueued_fallbacks
):
    call = sent_call(provider_call_id="answered")
    race_reports(call, "Success")
    call.refresh_from_db()
    assert (call.status, call.otp, Call.objects.count()) == ("success", "", 1)
    assert failures == [] and enqueued_fallbacks == []
    race(tasks.run_fallback, call.pk)
    assert fallback_senders.handed == []


def test_the_sweepers_passcode_queries_read_the_partial_index(delivery_settings):
    """Erasing old passcodes and finding due fallbacks, on a large table: index scans only."""
    campaign, _ = Campaign.objects.get_or_create(campaign_id="c78af")
    long_ago = timezone.now() - timedelta(days=3)
    Call.objects.bulk_create(
        (
            Call(
                campaign=campaign,
                phone_number=f"076{i:07d}",
                status="success",
                created_at=long_ago + timedelta(seconds=i),
            )
            for i in range(20_000)
        ),
        batch_size=2000,
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE django_voiceotp_call")
    now = timezone.now()
    cutoff = now - timedelta(seconds=300)
    # As delivery.erase_stale_passcodes selects the rows it updates, and delivery.fallbacks_due.
    erasable = Call.objects.filter(created_at__lt=cutoff).exclude(otp="")
    due = Call.objects.filter(
        created_at__gte=cutoff, fallback_status="pending", fallback_next_at__lte=now
    ).exclude(otp="")
    for queryset in (erasable, due):
        plan = queryset.explain()
        assert "voiceotp_call_sealed_idx" in plan and "Seq Scan" not in plan, plan
