"""Eager mode (CELERY_TASK_ALWAYS_EAGER, as in the test settings) follows Celery's convention.

A send retry runs at once, as Celery's eager ``retry()`` does, still bounded by
``SEND_MAX_RETRIES``; polls keep their real-time schedule and are not run early.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from django_voiceotp import send_otp, sending, tasks
from django_voiceotp.conf import voiceotp_settings
from django_voiceotp.models import Call
from django_voiceotp.sealing import open_otp

from .celery_app import app

OTP = "482915"

pytestmark = pytest.mark.django_db(transaction=True)


def reload(call):
    return Call.objects.get(pk=call.pk)


def test_the_test_settings_run_tasks_eagerly():
    assert app.conf.task_always_eager


def test_a_single_transient_500_is_retried_at_once(sandbox, signals):
    sandbox.inject("http_error", endpoint="voiceotp", status=500)
    call = reload(send_otp("0771122330", OTP))
    assert (call.status, call.send_attempts) == ("sent", 2)
    assert call.provider_call_id == sandbox.calls[0].call_id
    assert open_otp(call.otp) == OTP  # sealed until the delivery ends
    assert len(sandbox.requests_for("voiceotp")) == 2
    assert signals.names(call.pk) == [("changed", "pending", "sent")]


@pytest.mark.parametrize(
    ("kind", "params"),
    [
        ("http_error", {"status": 503}),
        ("garbage", {}),
        ("rate_limit", {}),
        ("slow", {"seconds": 1.0}),  # a read timeout
    ],
)
def test_every_fault_that_may_pass_is_retried_at_once(sandbox, voiceotp, kind, params):
    voiceotp(TIMEOUT=(1.0, 0.5))
    sandbox.inject(kind, endpoint="voiceotp", times=2, **params)
    call = reload(send_otp("0771122330", OTP))
    assert (call.status, call.send_attempts) == ("sent", 3)


def test_connection_refused_is_retried_up_to_the_limit(sandbox, voiceotp, signals):
    voiceotp(API_URL="http://127.0.0.1:9/", SEND_MAX_RETRIES=2)
    call = reload(send_otp("0771122330", OTP))
    assert (call.status, call.send_attempts) == ("failed", 3)
    assert call.failure_reason.startswith("provider unavailable: Could not reach the provider")
    assert signals.names(call.pk)[-1] == ("failed", call.failure_reason)


def test_the_last_allowed_retry_still_delivers(sandbox):
    retries = voiceotp_settings.SEND_MAX_RETRIES
    sandbox.inject("http_error", endpoint="voiceotp", times=retries, status=500)
    call = reload(send_otp("0771122330", OTP))
    assert (call.status, call.send_attempts) == ("sent", retries + 1)


def test_send_max_retries_plus_one_failures_fail_the_call(sandbox, signals):
    retries = voiceotp_settings.SEND_MAX_RETRIES
    sandbox.inject("http_error", endpoint="voiceotp", times=retries + 1, status=500)
    call = reload(send_otp("0771122330", OTP))
    assert (call.status, call.send_attempts) == ("failed", retries + 1)
    assert call.failure_reason.startswith("provider unavailable: ")
    assert "HTTP 500" in call.failure_reason
    assert call.otp == ""
    assert len(sandbox.requests_for("voiceotp")) == retries + 1
    assert signals.names(call.pk) == [
        ("changed", "pending", "failed"),
        ("failed", call.failure_reason),
    ]
    # Nothing is left for the sweeper: no storm of sends after the limit.
    assert tasks.poll_pending_calls() == {"expired": 0, "sent": 0, "polled": 0}
    assert len(sandbox.requests_for("voiceotp")) == retries + 1


def test_polls_are_not_run_early(sandbox, time_machine):
    sandbox.inject("http_error", endpoint="voiceotp", status=500)
    call = reload(send_otp("0771122338", OTP))
    assert call.status == Call.Status.SENT
    first_poll = voiceotp_settings.POLL_SCHEDULE[0]
    assert call.next_poll_at == call.sent_at + timedelta(seconds=first_poll)
    assert sandbox.requests_for("report") == []

    time_machine.move_to(call.sent_at + timedelta(seconds=first_poll - 1), tick=False)
    assert tasks.poll_pending_calls()["polled"] == 0
    tasks.poll_call(call.pk)  # a poll task run before its time does nothing
    assert sandbox.requests_for("report") == []

    time_machine.move_to(call.sent_at + timedelta(seconds=first_poll + 1), tick=False)
    assert tasks.poll_pending_calls()["polled"] == 1
    call = reload(call)
    assert (call.status, call.failure_reason) == ("failed", "NOANWSER")
    assert len(sandbox.requests_for("report")) == 1


def test_an_attempt_claimed_meanwhile_by_another_process_is_left_to_it(sandbox, monkeypatch):
    """The eager retry cuts short only its own wait, never another attempt's lease."""
    sandbox.inject("http_error", endpoint="voiceotp", times=3, status=500)
    real_send_call = sending.send_call
    lease_until = timezone.now() + timedelta(minutes=5)

    def send_call_then_another_process_claims(call_id):
        follow_up = real_send_call(call_id)
        # e.g. the sweeper in another process, once the retry's delay had passed there
        Call.objects.filter(pk=call_id).update(send_attempts=2, next_attempt_at=lease_until)
        return follow_up

    monkeypatch.setattr(sending, "send_call", send_call_then_another_process_claims)
    call = reload(send_otp("0771122330", OTP))
    assert (call.status, call.send_attempts, call.next_attempt_at) == ("pending", 2, lease_until)
    assert len(sandbox.requests_for("voiceotp")) == 1
