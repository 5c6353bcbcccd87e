"""Batched sends: a send job claims the calls waiting beside its own in one statement, places them
concurrently, and marks those placed ``sent`` in one; new calls share a job that is waiting."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from django_voiceotp import breaker, claims, dispatch, jobs, limits, placing, sending
from django_voiceotp.dispatch.recording import RecordingDispatcher
from django_voiceotp.exceptions import ProviderRejected, ProviderUnavailable
from django_voiceotp.models import Call
from django_voiceotp.providers import get_provider
from django_voiceotp.providers.recording import RecordingProvider

from .conftest import RECORDING_DISPATCHER, RECORDING_PROVIDER

pytestmark = pytest.mark.django_db(transaction=True)

OTP = "482915"


class CoalescingRecorder(RecordingDispatcher):
    """The recording dispatcher, with new calls sharing a send job as a real queue's do."""

    coalesces_sends = True


class FailingQueue(RecordingDispatcher):
    coalesces_sends = True

    def enqueue(self, job, call_id=None, *, delay=None):
        super().enqueue(job, call_id, delay=delay)
        raise ConnectionError("broker down")


class ByNumberProvider(RecordingProvider):
    """Accepts every call, except that a number listed in ``refusing`` raises its error; safe to
    place from several threads (each call's error is its own)."""

    refusing: dict[str, Exception] = {}

    def __init__(self, name="", options=None):
        super().__init__(name, options)
        self.threads: list[str] = []  # where each call was placed

    def start_call(self, campaign_id, phone_number, otp, callback_url=None):
        self.threads.append(threading.current_thread().name)
        error = self.refusing.get(str(phone_number))
        if error is not None:
            raise error
        return super().start_call(campaign_id, phone_number, otp, callback_url)


def phone(index: int) -> str:
    return f"077{index:07d}"


@pytest.fixture
def recorder(voiceotp):
    voiceotp(DISPATCHER=RECORDING_DISPATCHER, SEND_BATCH_SIZE=20)
    dispatcher = dispatch.get_dispatcher()
    dispatcher.clear()
    yield dispatcher
    dispatcher.clear()


@pytest.fixture
def provider(voiceotp):
    ByNumberProvider.refusing = {}
    voiceotp(
        PROVIDERS={
            "pitel": {
                "BACKEND": "tests.test_batched_sends.ByNumberProvider",
                "DEFAULT_CAMPAIGN": "c78af",
            }
        }
    )
    yield get_provider("pitel")
    ByNumberProvider.refusing = {}


@pytest.fixture
def coalescing_queue(voiceotp):
    """``coalescing_queue(size)``: the coalescing recorder as the queue, batches of ``size``."""

    def use(size: int = 20) -> CoalescingRecorder:
        voiceotp(DISPATCHER="tests.test_batched_sends.CoalescingRecorder", SEND_BATCH_SIZE=size)
        queue = dispatch.get_dispatcher()
        queue.clear()
        return queue

    return use


def stored(count: int, start: int = 0) -> list[Call]:
    return [sending.send_otp(phone(start + index), OTP) for index in range(count)]


def statuses(calls) -> list[str]:
    return [Call.objects.get(pk=call.pk).status for call in calls]


def test_one_job_places_its_call_and_those_waiting_beside_it_in_three_statements(
    recorder, provider, signals
):
    calls = stored(5)
    with CaptureQueriesContext(connection) as queries:
        jobs.send_call(calls[2].pk)
    assert statuses(calls) == ["sent"] * 5
    assert sorted(placed.phone_number for placed in provider.placed) == [
        phone(index) for index in range(5)
    ]
    assert all(placed.otp == OTP for placed in provider.placed)
    # The claim of the five, their move to sent, and the claim that finds nothing more.
    statements = [q["sql"] for q in queries.captured_queries]
    assert len(statements) == 3, statements
    assert all(" UPDATE " in f" {sql} " for sql in statements), statements
    # Each call placed once, and announced once; on the placing threads, not the job's.
    assert all(signals.names(c.pk) == [("changed", "pending", "sent")] for c in calls)
    assert provider.threads and all(n.startswith("voiceotp-place") for n in provider.threads)
    stored_ids = {c.provider_call_id for c in Call.objects.all()}
    assert stored_ids == {placed.call_id for placed in provider.placed}


def test_a_job_places_what_is_waiting_batch_by_batch(recorder, voiceotp, provider):
    voiceotp(SEND_BATCH_SIZE=2)
    provider = get_provider("pitel")  # made again for the new settings
    calls = stored(5)
    with CaptureQueriesContext(connection) as queries:
        jobs.send_call(calls[4].pk)
    assert statuses(calls) == ["sent"] * 5
    assert len(provider.placed) == 5
    # Its own call rides the first batch.
    assert phone(4) in {placed.phone_number for placed in provider.placed[:2]}
    batch_claims = [q for q in queries.captured_queries if "LIMIT" in q["sql"]]
    assert len(batch_claims) == 4  # 2 + 2 + 1, then none
    # Each full batch published a job to work beside it, for the calls waiting.
    assert recorder.call_ids["send_call"] == [c.pk for c in calls] + [None, None]


def test_a_job_published_beside_a_full_batch_places_what_is_waiting(recorder, provider):
    calls = stored(3)
    jobs.send_call(None)
    assert statuses(calls) == ["sent"] * 3
    jobs.send_call(None)  # nothing waiting: nothing placed again
    assert len(provider.placed) == 3


def test_a_job_for_the_calls_waiting_does_nothing_without_batches(voiceotp, provider):
    voiceotp(DISPATCHER=RECORDING_DISPATCHER, SEND_BATCH_SIZE=1)
    calls = stored(2)
    jobs.send_call(None)
    assert statuses(calls) == ["pending", "pending"]


def test_a_duplicated_job_places_nothing_twice(recorder, provider):
    calls = stored(3)
    for call in calls:
        jobs.send_call(call.pk)
    jobs.send_call(calls[0].pk)
    assert len(provider.placed) == 3
    assert all(call.send_attempts == 1 for call in Call.objects.all())


def test_a_batch_takes_no_call_that_is_not_due(recorder, provider, clock):
    waiting = sending.send_otp(phone(1), OTP)
    now = timezone.now()
    redial_later = Call.objects.create(
        campaign=waiting.campaign,
        phone_number=phone(2),
        otp=waiting.otp,
        redial_of=waiting,
        attempt=2,
        created_at=now,
        next_attempt_at=now + timedelta(seconds=30),
    )
    held = Call.objects.create(
        campaign=waiting.campaign,
        phone_number=phone(3),
        otp=waiting.otp,
        created_at=now,
        send_attempts=1,
        next_attempt_at=now + timedelta(seconds=60),  # another attempt's lease
    )
    too_old = Call.objects.create(
        campaign=waiting.campaign,
        phone_number=phone(4),
        otp=waiting.otp,
        created_at=now - timedelta(hours=1),
    )
    retry_due = Call.objects.create(
        campaign=waiting.campaign,
        phone_number=phone(5),
        otp=waiting.otp,
        created_at=now,
        send_attempts=1,
        next_attempt_at=now - timedelta(seconds=1),
    )
    jobs.send_call(waiting.pk)
    assert sorted(p.phone_number for p in provider.placed) == [phone(1), phone(5)]
    assert statuses([redial_later, held, too_old]) == ["pending"] * 3
    assert Call.objects.get(pk=retry_due.pk).send_attempts == 2
    # The redial is taken by its own job once it is due.
    clock.shift(timedelta(seconds=31))
    jobs.send_redial(redial_later.pk)
    assert statuses([redial_later]) == ["sent"]


def test_each_call_of_a_batch_is_settled_on_its_own(recorder, provider):
    calls = stored(4)
    ByNumberProvider.refusing = {
        phone(1): ProviderUnavailable("timed out"),
        phone(2): ProviderRejected("bad number"),
    }
    jobs.send_call(calls[0].pk)
    assert statuses(calls) == ["sent", "pending", "failed", "sent"]
    # The unavailable one's retry, with its backoff, through the queue.
    retries = [d for d in recorder.outbox if d.job == "send_call" and d.delay]
    assert [r.call_id for r in retries] == [calls[1].pk]
    retried = Call.objects.get(pk=calls[1].pk)
    assert retried.next_attempt_at > timezone.now()
    assert Call.objects.get(pk=calls[2].pk).failure_code == Call.FailureCode.REJECTED


def test_an_unexpected_error_is_raised_once_the_others_are_recorded(recorder, provider):
    calls = stored(3)
    ByNumberProvider.refusing = {phone(1): RuntimeError("a bug")}
    with pytest.raises(RuntimeError):
        jobs.send_call(calls[0].pk)
    assert statuses(calls) == ["sent", "pending", "sent"]
    assert len(provider.placed) == 2


def test_the_kill_switch_fails_the_whole_batch(recorder, provider):
    calls = stored(3)
    limits.pause_sending()
    try:
        jobs.send_call(calls[0].pk)
    finally:
        limits.resume_sending()
    assert statuses(calls) == ["failed"] * 3
    assert provider.placed == []


@pytest.fixture
def first_and_second(recorder, voiceotp):
    voiceotp(
        PROVIDERS={
            "first": {
                "BACKEND": "tests.test_batched_sends.ByNumberProvider",
                "DEFAULT_CAMPAIGN": "c1",
            },
            "second": {"BACKEND": RECORDING_PROVIDER, "DEFAULT_CAMPAIGN": "c2"},
        },
        FAILOVER=["first", "second"],
        BREAKER_THRESHOLD=3,
        BREAKER_COOLDOWN=60,
    )
    ByNumberProvider.refusing = {}
    yield get_provider("first"), get_provider("second")
    ByNumberProvider.refusing = {}


def test_a_batch_fails_over_call_by_call(first_and_second, signals):
    first, second = first_and_second
    ByNumberProvider.refusing = {phone(1): ProviderUnavailable("refused", placed_nothing=True)}
    try:
        calls = stored(3)
        jobs.send_call(calls[0].pk)
    finally:
        ByNumberProvider.refusing = {}
    assert statuses(calls) == ["sent"] * 3
    assert sorted(p.phone_number for p in first.placed) == [phone(0), phone(2)]
    assert [(p.phone_number, p.otp) for p in second.placed] == [(phone(1), OTP)]
    assert Call.objects.get(pk=calls[1].pk).provider == "second"
    assert all(signals.names(c.pk) == [("changed", "pending", "sent")] for c in calls)


def test_a_call_a_callback_reached_first_is_not_moved_by_the_batch(recorder):
    """mark_sent is guarded as one call's move is: a call whose report came first is left."""
    first, second = stored(2)
    Call.objects.filter(pk=second.pk).update(
        send_attempts=1, next_poll_at=timezone.now(), provider_call_id="early-1"
    )
    Call.objects.filter(pk=first.pk).update(send_attempts=1)
    now = timezone.now()
    moved = claims.mark_sent([(first.pk, "p-1"), (second.pk, "p-2")], now, now)
    assert moved == {first.pk: "p-1"}
    assert statuses([first, second]) == ["sent", "pending"]
    assert Call.objects.get(pk=second.pk).provider_call_id == "early-1"


def test_new_calls_share_the_send_job_that_is_waiting(coalescing_queue, provider):
    queue = coalescing_queue()
    calls = stored(10)
    assert queue.call_ids["send_call"] == [calls[0].pk]
    jobs.send_call(calls[0].pk)
    assert statuses(calls) == ["sent"] * 10
    # The job has let go of the mark: the next call publishes a job of its own.
    later = sending.send_otp(phone(99), OTP)
    assert queue.call_ids["send_call"] == [calls[0].pk, later.pk]


def test_a_call_stored_while_a_job_claims_is_not_left_behind(
    coalescing_queue, provider, monkeypatch
):
    queue = coalescing_queue()
    first = sending.send_otp(phone(1), OTP)
    late: list[Call] = []
    claim_waiting = claims.claim_waiting

    def claiming_while_a_call_comes(*args):
        claimed = claim_waiting(*args)
        if not late:
            # Stored after the job's claim, before it lets go of the mark: publishes no job.
            late.append(sending.send_otp(phone(2), OTP))
        return claimed

    monkeypatch.setattr(claims, "claim_waiting", claiming_while_a_call_comes)
    jobs.send_call(first.pk)
    assert queue.call_ids["send_call"] == [first.pk]
    assert statuses([first, late[0]]) == ["sent", "sent"]


def test_a_call_stored_while_a_batch_is_placed_publishes_its_own_job(
    coalescing_queue, provider, monkeypatch
):
    """It waits for no provider's answer to the batch before it: the job has let go of the mark
    as soon as it claimed less than a full batch."""
    queue = coalescing_queue()
    first = sending.send_otp(phone(1), OTP)
    late: list[Call] = []
    place_all = placing.place_all

    def placing_while_a_call_comes(calls):
        if not late:
            late.append(sending.send_otp(phone(2), OTP))
        return place_all(calls)

    monkeypatch.setattr(placing, "place_all", placing_while_a_call_comes)
    jobs.send_call(first.pk)
    assert queue.call_ids["send_call"] == [first.pk, late[0].pk]


def test_a_job_the_queue_refuses_lets_the_next_call_publish(voiceotp, provider):
    voiceotp(DISPATCHER="tests.test_batched_sends.FailingQueue", SEND_BATCH_SIZE=20)
    queue = dispatch.get_dispatcher()
    queue.clear()
    calls = stored(2)
    assert queue.call_ids["send_call"] == [calls[0].pk, calls[1].pk]


def test_batches_of_one_publish_a_job_per_call(coalescing_queue, provider):
    queue = coalescing_queue(1)
    calls = stored(3)
    assert queue.call_ids["send_call"] == [call.pk for call in calls]
    jobs.send_call(calls[1].pk)
    assert statuses(calls) == ["pending", "sent", "pending"]


def test_a_batch_is_placed_concurrently_at_the_sandbox_over_http(recorder, sandbox, signals):
    sandbox.configure(call_duration=60)
    calls = stored(8)
    jobs.send_call(calls[0].pk)
    assert statuses(calls) == ["sent"] * 8
    heard = sorted((c.phone_number, c.otp) for c in sandbox.calls)
    assert heard == sorted((call.phone_number, OTP) for call in calls)
    assert {c.provider_call_id for c in Call.objects.all()} == {c.call_id for c in sandbox.calls}
    assert all(signals.names(c.pk) == [("changed", "pending", "sent")] for c in calls)


def test_the_job_for_the_calls_waiting_runs_as_a_task_without_a_call(recorder, provider):
    """What a full batch publishes: the task without arguments (a TypeError in the worker, and
    no job beside the full one, if it needed a call)."""
    from django_voiceotp import tasks

    calls = stored(2)
    assert tasks.send_call.apply().successful()
    assert len(provider.placed) == 2
    assert statuses(calls) == ["sent", "sent"]


def test_each_unavailable_outcome_of_a_batch_counts_towards_the_breaker(first_and_second):
    first, second = first_and_second
    ByNumberProvider.refusing = {phone(i): ProviderUnavailable("read timeout") for i in range(3)}
    calls = stored(3)
    jobs.send_call(calls[0].pk)
    # Three unavailable outcomes in one batch open the breaker (a timeout may have placed the
    # call: no failover, each waits for its retry).
    assert breaker.state("first").state == breaker.OPEN
    assert statuses(calls) == ["pending"] * 3 and second.placed == []


def test_a_provider_that_answered_a_call_of_the_batch_is_available(first_and_second):
    first, second = first_and_second
    ByNumberProvider.refusing = {phone(i): ProviderUnavailable("read timeout") for i in range(3)}
    calls = stored(4)
    jobs.send_call(calls[0].pk)
    assert statuses(calls) == ["pending"] * 3 + ["sent"]
    # Its three timeouts were not counted: two more in a row leave it closed (threshold 3).
    for _ in range(2):
        breaker.failed("first")
    assert breaker.state("first").state == breaker.CLOSED
    breaker.failed("first")
    assert breaker.state("first").state == breaker.OPEN


def test_a_half_open_breaker_lets_one_call_of_the_batch_probe(first_and_second, clock):
    first, second = first_and_second
    breaker.trip("first")
    clock.shift(timedelta(seconds=61))
    calls = stored(4)
    jobs.send_call(calls[0].pk)
    assert statuses(calls) == ["sent"] * 4
    assert len(first.placed) == 1  # the probe
    assert len(second.placed) == 3
    assert breaker.state("first").state == breaker.CLOSED
