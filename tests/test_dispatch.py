"""The dispatch seam: the one place the app hands work to a queue, whichever queue it is."""

from __future__ import annotations

import logging
import warnings

import pytest
from django.db import transaction
from django.utils import timezone

from django_voiceotp import dispatch, health, jobs, results, send_otp, tasks
from django_voiceotp.dispatch.base import JOBS, BaseDispatcher
from django_voiceotp.dispatch.celery import CeleryDispatcher
from django_voiceotp.dispatch.recording import Dispatched, RecordingDispatcher
from django_voiceotp.models import Call, Campaign
from django_voiceotp.sealing import seal_otp

from .conftest import SANDBOX_SECRET_KEY

OTP = "482915"

pytestmark = pytest.mark.django_db(transaction=True)


class BrokenQueue(BaseDispatcher):
    def enqueue(self, job, call_id=None, *, delay=None):
        raise ConnectionError(f"broker down at amqp://guest:{SANDBOX_SECRET_KEY}@queue")


class NoDelays(RecordingDispatcher):
    supports_delay = False


def pending_call() -> Call:
    campaign, _ = Campaign.objects.get_or_create(campaign_id="c78af")
    return Call.objects.create(campaign=campaign, phone_number="0771122330", otp=seal_otp(OTP))


def test_celery_is_the_default_dispatcher():
    assert isinstance(dispatch.get_dispatcher(), CeleryDispatcher)
    assert dispatch.runs_inline()  # the test settings run Celery eagerly


def test_a_dotted_path_names_the_dispatcher_and_one_instance_serves(voiceotp):
    voiceotp(DISPATCHER="django_voiceotp.dispatch.recording.RecordingDispatcher")
    assert isinstance(dispatch.get_dispatcher(), RecordingDispatcher)
    assert dispatch.get_dispatcher() is dispatch.get_dispatcher()


def test_every_job_is_a_celery_task_of_the_same_name_and_a_function_of_jobs():
    for job in JOBS:
        assert getattr(tasks, job).name == f"django_voiceotp.tasks.{job}"
        assert callable(getattr(jobs, job))


def test_an_unknown_job_is_refused(dispatched):
    with pytest.raises(ValueError, match="Unknown job 'send_sms'"):
        dispatch.enqueue("send_sms", 1)
    assert dispatched.outbox == []


def test_send_otp_hands_the_send_over_after_the_commit(dispatched):
    with transaction.atomic():
        call = send_otp("0771122330", OTP)
        assert dispatched.outbox == []  # not before the commit: the worker could not see it
    assert dispatched.outbox == [Dispatched("send_call", call.pk, None)]


def test_nothing_is_handed_over_for_a_rolled_back_call(dispatched):
    with pytest.raises(RuntimeError), transaction.atomic():
        send_otp("0771122330", OTP)
        raise RuntimeError("the host's view failed")
    assert dispatched.outbox == [] and Call.objects.count() == 0


def test_a_queue_that_fails_is_logged_and_survived(voiceotp, caplog):
    voiceotp(DISPATCHER="tests.test_dispatch.BrokenQueue")
    with caplog.at_level(logging.WARNING, logger="django_voiceotp"):
        call = send_otp("0771122330", OTP)
        assert dispatch.enqueue("poll_call", call.pk) is False
    assert Call.objects.get(pk=call.pk).status == Call.Status.PENDING
    assert f"Could not hand send_call of call {call.pk} to the queue" in caplog.text
    assert f"Could not hand poll_call of call {call.pk} to the queue" in caplog.text
    assert "(ConnectionError)" in caplog.text
    assert SANDBOX_SECRET_KEY not in caplog.text  # the broker's URL and its password stay out


def test_a_dispatcher_that_does_not_load_is_logged_and_survived(voiceotp, caplog):
    voiceotp(DISPATCHER="djnago.dispatchers.Typo")
    call = send_otp("0771122330", OTP)
    assert Call.objects.get(pk=call.pk).status == Call.Status.PENDING
    assert f"send_call of call {call.pk} to the queue (ModuleNotFoundError)" in caplog.text


def test_a_sweep_that_cannot_hand_its_work_over_fails_once_and_is_not_recorded(voiceotp, caplog):
    calls = [pending_call() for _ in range(3)]
    Call.objects.update(next_attempt_at=timezone.now())
    voiceotp(DISPATCHER="tests.test_dispatch.BrokenQueue")
    with pytest.raises(ConnectionError):
        jobs.poll_pending_calls()
    assert health.sweeper_last_run() is None  # the health check sees no sweeper run
    assert "Could not hand" not in caplog.text  # one error for the sweep, not one per call
    assert Call.objects.filter(pk__in=[c.pk for c in calls], status="pending").count() == 3


def test_in_eager_mode_a_redial_without_delay_is_left_to_the_sweeper(sandbox, voiceotp, clock):
    """Eager mode runs no countdown: every follow-up, even one due now, waits for the sweeper."""
    sandbox.configure(call_duration=0)
    voiceotp(REDIAL_MAX=1, REDIAL_DELAY=0)
    sandbox.script("0771122330", ["NOANWSER", "Success"])
    call = send_otp("0771122330", OTP)
    results.poll_call(call.pk, force=True)
    redial = Call.objects.get(redial_of=call)
    assert redial.status == Call.Status.PENDING
    assert len(sandbox.requests_for("voiceotp")) == 1


def test_a_delayed_job_is_left_to_the_sweeper_when_work_runs_inline(monkeypatch):
    """Eager mode would run it now, ahead of its time."""
    ran = []
    monkeypatch.setattr(tasks.send_redial, "apply_async", lambda *a, **k: ran.append(a))
    assert dispatch.enqueue("send_redial", 7, delay=20) is False
    assert ran == []


def test_a_delayed_job_is_left_to_the_sweeper_when_the_queue_cannot_delay(voiceotp):
    voiceotp(DISPATCHER="tests.test_dispatch.NoDelays")
    recorder = dispatch.get_dispatcher()
    recorder.clear()
    assert dispatch.enqueue("send_call", 7, delay=4) is False
    assert dispatch.enqueue("send_call", 8) is True
    assert recorder.outbox == [Dispatched("send_call", 8, None)]


def test_a_send_retry_is_handed_over_with_its_backoff(sandbox, dispatched, time_machine):
    time_machine.move_to(timezone.now(), tick=False)
    sandbox.inject("http_error", endpoint="voiceotp", status=503)
    call = pending_call()
    jobs.send_call(call.pk)
    call.refresh_from_db()
    (retry,) = dispatched.outbox
    assert (retry.job, retry.call_id) == ("send_call", call.pk)
    assert 1 <= retry.delay <= 2  # SEND_RETRY_BACKOFF 2: the first retry waits 1 to 2 s
    assert call.next_attempt_at == timezone.now() + timezone.timedelta(seconds=retry.delay)


def test_a_redial_is_handed_over_with_its_delay(sandbox, dispatched, voiceotp, clock):
    sandbox.configure(call_duration=0)
    voiceotp(REDIAL_MAX=1, REDIAL_DELAY=20)
    sandbox.script("0771122330", ["NOANWSER"])
    call = pending_call()
    jobs.send_call(call.pk)
    results.poll_call(call.pk, force=True)
    redial = Call.objects.get(redial_of=call)
    assert Dispatched("send_redial", redial.pk, 20.0) in dispatched.outbox


def test_the_sweeper_hands_due_work_over(dispatched, time_machine):
    call = pending_call()
    Call.objects.filter(pk=call.pk).update(next_attempt_at=timezone.now())
    counts = jobs.poll_pending_calls()
    assert counts["sent"] == 1
    assert dispatched.outbox == [Dispatched("send_call", call.pk, None)]


def test_the_old_services_names_work_and_warn():
    from django_voiceotp import claims, sending, services

    with pytest.warns(DeprecationWarning, match="use django_voiceotp.sending.send_otp"):
        assert services.send_otp is sending.send_otp
    with pytest.warns(
        DeprecationWarning, match="_claim_send is deprecated: use .*claims.claim_send"
    ):
        assert services._claim_send is claims.claim_send
    with pytest.raises(AttributeError), warnings.catch_warnings():
        warnings.simplefilter("error")
        services.enqueue_send  # noqa: B018 - the queue is reached through dispatch only
