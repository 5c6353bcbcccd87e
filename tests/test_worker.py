"""The pipeline with a real Celery worker (in-memory broker) instead of eager mode."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
from celery.contrib.testing.worker import start_worker

from django_voiceotp import send_otp, tasks
from django_voiceotp.models import Call, Campaign
from django_voiceotp.sealing import seal_otp
from django_voiceotp.signals import call_failed, call_succeeded

from . import fallback_senders
from .celery_app import app

OTP = "482915"

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(scope="module")
def _running_worker():
    """One worker for the module: starting and stopping one costs seconds."""
    app.conf.task_always_eager = False
    try:
        with start_worker(
            app, pool="threads", concurrency=2, perform_ping_check=False, shutdown_timeout=10
        ):
            yield
    finally:
        app.conf.task_always_eager = True


@pytest.fixture
def worker(_running_worker, sandbox, voiceotp):
    # Settings are read when a task runs, so each test's values reach the running worker.
    voiceotp(POLL_SCHEDULE=(0.5, 1.0, 2.0, 4.0), SEND_RETRY_BACKOFF=0.2)
    # What celery beat does in a deployment: the sweeper sends the polls that are due.
    stop = threading.Event()

    def beat():
        while not stop.wait(0.2):
            tasks.poll_pending_calls.delay()

    clock = threading.Thread(target=beat, daemon=True)
    clock.start()
    yield
    stop.set()
    clock.join()


class Finished:
    """Waits for the final signal of calls, with a bound."""

    def __init__(self):
        self.calls = []
        self._event = threading.Event()
        self.expected = 1

    def __call__(self, sender, call, **kwargs):
        self.calls.append((call.pk, call.status))
        if len(self.calls) >= self.expected:
            self._event.set()

    def wait(self, expected=1, timeout=20):
        self.expected = expected
        if len(self.calls) >= expected:
            return True
        return self._event.wait(timeout)


@pytest.fixture
def finished():
    recorder = Finished()
    call_succeeded.connect(recorder, weak=False, dispatch_uid="finished-ok")
    call_failed.connect(recorder, weak=False, dispatch_uid="finished-ko")
    yield recorder
    call_succeeded.disconnect(dispatch_uid="finished-ok")
    call_failed.disconnect(dispatch_uid="finished-ko")


def test_worker_sends_and_polls_to_the_result(worker, sandbox, finished):
    call = send_otp("0771122330", OTP)
    assert finished.wait()
    assert finished.calls == [(call.pk, "success")]
    call.refresh_from_db()
    assert call.status == "success" and call.poll_count >= 1
    assert len(sandbox.requests_for("voiceotp")) == 1


def test_worker_with_callbacks_fires_one_signal_per_call(worker, sandbox, callbacks_to, finished):
    calls = [send_otp(f"077112233{digit}", OTP) for digit in (0, 1, 9)]
    assert finished.wait(expected=3)
    sandbox.wait_for_callbacks()
    time.sleep(1.5)  # let any late poll run: it must not fire a second signal
    assert sorted(finished.calls) == sorted(
        [(calls[0].pk, "success"), (calls[1].pk, "success"), (calls[2].pk, "failed")]
    )


def test_worker_retries_with_backoff(worker, sandbox, finished):
    sandbox.inject("http_error", endpoint="voiceotp", times=2, status=503)
    call = send_otp("0771122330", OTP)
    assert finished.wait()
    call.refresh_from_db()
    assert (call.status, call.send_attempts) == ("success", 3)
    assert len(sandbox.requests_for("voiceotp")) == 3


def test_duplicated_tasks_on_a_worker_place_one_call(worker, sandbox, finished):
    campaign = Campaign.objects.create(campaign_id="c78af")
    call = Call.objects.create(campaign=campaign, phone_number="0771122330", otp=seal_otp(OTP))
    for _ in range(3):
        tasks.send_call.delay(call.pk)
    assert finished.wait()
    assert len(sandbox.requests_for("voiceotp")) == 1


def test_worker_redials_a_call_not_answered(worker, sandbox, callbacks_to, finished, voiceotp):
    voiceotp(REDIAL_MAX=1, REDIAL_DELAY=0.5)
    sandbox.script("0771122330", ["NOANWSER", "Success"])
    first = send_otp("0771122330", OTP)
    assert finished.wait(expected=2)
    redial = Call.objects.get(redial_of=first)
    assert sorted(finished.calls) == [(first.pk, "failed"), (redial.pk, "success")]
    read_the_passcode = [
        request.body["contact"]["otp"] == OTP for request in sandbox.requests_for("voiceotp")
    ]
    assert read_the_passcode == [True, True]
    first.refresh_from_db()
    redial.refresh_from_db()
    assert redial.sent_at - first.finished_at >= timedelta(seconds=0.5)  # not before REDIAL_DELAY
    assert Call.objects.count() == 2


def test_worker_hands_the_passcode_to_the_fallback_once(worker, sandbox, callbacks_to, voiceotp):
    fallback_senders.reset()
    voiceotp(REDIAL_MAX=1, REDIAL_DELAY=0.2, FALLBACK_SENDER="tests.fallback_senders.record")
    sandbox.script("0771122330", ["BUSY", "BUSY", "BUSY"])
    send_otp("0771122330", OTP)
    deadline = time.monotonic() + 20
    while not fallback_senders.handed and time.monotonic() < deadline:
        time.sleep(0.05)
    sandbox.wait_for_callbacks()
    time.sleep(1.0)  # let any late poll or duplicated task run: nothing more may be handed over
    first, redial = Call.objects.order_by("pk")
    handed = [(otp == OTP, pk) for phone, otp, pk in fallback_senders.handed]
    assert handed == [(True, redial.pk)]
    assert len(sandbox.requests_for("voiceotp")) == 2
    assert (redial.redial_of_id, redial.fallback_status, redial.otp) == (first.pk, "sent", "")
    fallback_senders.reset()
