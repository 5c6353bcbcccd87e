"""Delivery metrics: a scripted run of calls moves each metric by exactly what happened."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from prometheus_client import REGISTRY, CollectorRegistry
from prometheus_client.multiprocess import MultiProcessCollector

from django_voiceotp import callback_urls, metrics, request_code, send_otp, sweeping
from django_voiceotp.exceptions import RateLimited
from django_voiceotp.models import Call, CallbackEvent, Campaign
from django_voiceotp.tasks import poll_pending_calls

pytestmark = pytest.mark.django_db(transaction=True)

OTP = "482915"
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def campaign():
    return Campaign.objects.create(campaign_id="c78af")


class Readings:
    """Values of the app's metrics now; ``delta()`` says how each moved since."""

    NAMES = (
        "voiceotp_calls_finished_total",
        "voiceotp_call_result_seconds_count",
        "voiceotp_callbacks_total",
        "voiceotp_limit_refusals_total",
        "voiceotp_provider_requests_total",
        "voiceotp_provider_request_seconds_count",
        "voiceotp_redials_total",
        "voiceotp_fallbacks_total",
        "voiceotp_test_calls_total",
    )

    def __init__(self, registry=REGISTRY):
        self.registry = registry
        self.before = self.read()

    def read(self) -> dict:
        values = {}
        for family in self.registry.collect():
            for sample in family.samples:
                if sample.name in self.NAMES:
                    key = (sample.name, tuple(sorted(sample.labels.items())))
                    values[key] = sample.value
        return values

    def delta(self) -> dict:
        after = self.read()
        moved = {key: after[key] - self.before.get(key, 0) for key in after}
        return {key: value for key, value in moved.items() if value}


def sample(name: str, **labels) -> tuple:
    return (name, tuple(sorted(labels.items())))


def test_a_scripted_run_moves_each_metric_by_what_happened(sandbox, callbacks_to, client):
    readings = Readings()

    success = send_otp("0771122330", OTP)
    not_answered = send_otp("0771122338", OTP)  # the sandbox's NOANWSER
    refused = send_otp("0771122339", OTP)  # the sandbox's Fail
    sandbox.inject("http_error", endpoint="voiceotp", times=1, status=500)
    retried = send_otp("0771122331", OTP)  # one 500, retried at once (eager), then placed
    assert sandbox.wait_for_callbacks()
    forged = client.post("/voiceotp/callbacks/forged/", b"{}", content_type="application/json")
    assert forged.status_code == 403

    request_code("0771122332")
    with pytest.raises(RateLimited):
        request_code("0771122332")  # within RESEND_COOLDOWN
    assert sandbox.wait_for_callbacks()

    statuses = {call.pk: call.status for call in Call.objects.all()}
    assert [statuses[call.pk] for call in (success, not_answered, refused, retried)] == [
        "success",
        "failed",
        "failed",
        "success",
    ]
    assert readings.delta() == {
        sample("voiceotp_calls_finished_total", status="success", failure_class=""): 3,
        sample("voiceotp_calls_finished_total", status="failed", failure_class="not_reached"): 1,
        sample(
            "voiceotp_calls_finished_total", status="failed", failure_class="provider_failed"
        ): 1,
        sample("voiceotp_call_result_seconds_count", status="success"): 3,
        sample("voiceotp_call_result_seconds_count", status="failed"): 2,
        sample("voiceotp_callbacks_total", verdict="applied"): 5,
        sample("voiceotp_callbacks_total", verdict="bad_token"): 1,
        sample("voiceotp_limit_refusals_total", limit="cooldown"): 1,
        sample("voiceotp_provider_requests_total", endpoint="token", outcome="ok"): 1,
        sample("voiceotp_provider_requests_total", endpoint="voiceotp", outcome="ok"): 5,
        sample("voiceotp_provider_requests_total", endpoint="voiceotp", outcome="unavailable"): 1,
        sample("voiceotp_provider_request_seconds_count", endpoint="token"): 1,
        sample("voiceotp_provider_request_seconds_count", endpoint="voiceotp"): 6,
    }
    assert CallbackEvent.objects.filter(verdict="applied").count() == 5


def test_failures_count_under_their_code():
    # The code, not the reason's words: "passcode unreadable" was counted as provider_failed.
    codes = Call.FailureCode
    assert [
        metrics.failure_class(code)
        for code in (codes.NOT_REACHED, codes.PROVIDER_FAILED, codes.PASSCODE_UNREADABLE, "")
    ] == ["not_reached", "provider_failed", "passcode_unreadable", "unknown"]


def test_calls_a_limit_ended_count_under_their_own_classes():

    assert metrics.failure_class(Call.FailureCode.LIMITED) == "limited"
    assert metrics.failure_class(Call.FailureCode.PAUSED) == "paused"


def test_a_redial_is_counted_when_call_failed_announces_one(campaign):
    from django_voiceotp.signals import call_failed

    readings = Readings()
    failed = Call.objects.create(campaign=campaign, phone_number="0771122338", status="failed")
    follow_up = Call.objects.create(campaign=campaign, phone_number="0771122338")
    call_failed.send(sender=Call, call=failed, reason="NOANWSER", redial=follow_up)
    call_failed.send(sender=Call, call=failed, reason="NOANWSER", redial=None)
    assert readings.delta() == {sample("voiceotp_redials_total"): 1}


def test_the_sweeper_refreshes_the_calls_waiting(campaign):
    Call.objects.create(campaign=campaign, phone_number="0771122330")
    Call.objects.create(campaign=campaign, phone_number="0771122331", status="sent")
    Call.objects.create(campaign=campaign, phone_number="0771122332", status="sent")
    Call.objects.create(campaign=campaign, phone_number="0771122333", status="success")
    poll_pending_calls()
    assert REGISTRY.get_sample_value("voiceotp_calls_waiting", {"status": "pending"}) == 1
    assert REGISTRY.get_sample_value("voiceotp_calls_waiting", {"status": "sent"}) == 2
    assert sweeping.calls_waiting() == {"pending": 1, "sent": 2}


def test_the_view_serves_the_metrics_without_a_number_passcode_or_token(
    sandbox, callbacks_to, client
):
    from django_voiceotp.sandbox import constants

    call = send_otp("0771122330", OTP)
    assert sandbox.wait_for_callbacks()
    call.refresh_from_db()
    response = client.get("/voiceotp-metrics/")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    text = response.content.decode()
    assert 'voiceotp_calls_finished_total{failure_class="",status="success"}' in text
    secrets = [
        "0771122330",
        "771122330",
        OTP,
        call.provider_call_id,
        callback_urls.callback_token_for(call),
        constants.ACCESS_TOKEN,
        constants.SECRET_KEY,
    ]
    assert [secret for secret in secrets if secret in text] == []


def test_the_view_says_when_prometheus_client_is_missing(client, monkeypatch):
    monkeypatch.setattr(metrics, "prometheus_client", None)
    response = client.get("/voiceotp-metrics/")
    assert response.status_code == 501
    assert "django-voiceotp[metrics]" in response.content.decode()


#: Runs in its own process, as a gunicorn or Celery worker would: records, then exits.
RECORD_IN_A_WORKER = """
import django, json, sys
django.setup()
from django_voiceotp import metrics
for verdict in json.loads(sys.argv[1]):
    metrics.callback_received(verdict)
metrics.provider_request("voiceotp", "ok", 0.2)
metrics.calls_waiting(pending=int(sys.argv[2]), sent=0)
"""


def test_processes_add_up_in_multiprocess_mode(tmp_path):
    env = {
        **os.environ,
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path),
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "PYTHONPATH": str(ROOT),
    }
    for verdicts, pending in ((["applied", "applied"], 3), (["applied", "bad_token"], 5)):
        subprocess.run(
            [sys.executable, "-c", RECORD_IN_A_WORKER, json.dumps(verdicts), str(pending)],
            cwd=ROOT,
            env=env,
            check=True,
            timeout=60,
        )
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=str(tmp_path))
    assert registry.get_sample_value("voiceotp_callbacks_total", {"verdict": "applied"}) == 3
    assert registry.get_sample_value("voiceotp_callbacks_total", {"verdict": "bad_token"}) == 1
    assert (
        registry.get_sample_value(
            "voiceotp_provider_requests_total", {"endpoint": "voiceotp", "outcome": "ok"}
        )
        == 2
    )
    # A gauge set by the sweeper: the latest process's value, not a sum.
    assert registry.get_sample_value("voiceotp_calls_waiting", {"status": "pending"}) == 5


def test_a_test_number_is_counted_apart_and_places_no_call(sandbox, voiceotp):
    voiceotp(TEST_NUMBERS={"+84 77 000 0001": "123456"})
    readings = Readings()
    request_code("0770000001")
    assert readings.delta() == {sample("voiceotp_test_calls_total"): 1}
    assert sandbox.requests_for("voiceotp") == []


def test_a_delivery_with_a_redial_and_the_fallback_moves_their_counters(sandbox, voiceotp, clock):
    from datetime import timedelta

    from django.core.management import call_command

    from django_voiceotp import tasks

    sandbox.configure(call_duration=0)
    voiceotp(REDIAL_MAX=1, REDIAL_DELAY=20, FALLBACK_SENDER="tests.fallback_senders.record")
    sandbox.script("0771122330", ["BUSY", "NOANWSER"])
    readings = Readings()
    send_otp("0771122330", OTP)
    call_command("voiceotp_poll", stdout=open(os.devnull, "w"))  # noqa: SIM115
    clock.shift(timedelta(seconds=21))
    tasks.poll_pending_calls()  # places the redial, now due
    call_command("voiceotp_poll", stdout=open(os.devnull, "w"))  # noqa: SIM115

    moved = readings.delta()
    assert {key: value for key, value in moved.items() if "provider_request" not in key[0]} == {
        sample("voiceotp_calls_finished_total", status="failed", failure_class="not_reached"): 2,
        sample("voiceotp_call_result_seconds_count", status="failed"): 2,
        sample("voiceotp_redials_total"): 1,
        sample("voiceotp_fallbacks_total", outcome="sent"): 1,
    }
    assert Call.objects.filter(status="failed").count() == 2
