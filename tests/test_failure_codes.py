"""Why a call failed, as a code: set on every path that fails a call, the metric's label and
the English failure reason derived from it, old reasons mapped by the migration, a filter."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.urls import reverse
from django.utils import timezone

from django_voiceotp import metrics, placing, results, sending, sweeping
from django_voiceotp.exceptions import ProviderRejected, ProviderUnavailable
from django_voiceotp.models import FAILURE_WORDS, Call, Campaign, failure_reason
from django_voiceotp.provider_reports import parse_report
from django_voiceotp.sealing import PasscodeUnreadable, seal_otp

pytestmark = pytest.mark.django_db

Code = Call.FailureCode


def make_call(**fields) -> Call:
    campaign, _ = Campaign.objects.get_or_create(campaign_id="c78af")
    values = {"phone_number": "0771122330", "otp": seal_otp("482915"), **fields}
    return Call.objects.create(campaign=campaign, **values)


def start_call_raising(monkeypatch, error: Exception) -> None:
    def start_call(*args, **kwargs):
        raise error

    monkeypatch.setattr("django_voiceotp.providers.pitel.PitelProvider.start_call", start_call)


def failed(call: Call) -> tuple[str, str, str]:
    call.refresh_from_db()
    return call.status, call.failure_code, call.failure_reason


# -- every path that fails a call stores its code -------------------------------------------------


@pytest.mark.parametrize(
    ("status", "code"),
    [
        ("NOANWSER", Code.NOT_REACHED),
        ("busy", Code.NOT_REACHED),
        ("not_available", Code.NOT_REACHED),
        ("Fail", Code.PROVIDER_FAILED),
        ("CONGESTION", Code.PROVIDER_FAILED),
        # A word of the app's own, from the provider: the provider's failure, not the app's.
        ("expired", Code.PROVIDER_FAILED),
    ],
)
def test_a_reported_failure_keeps_the_providers_status_as_its_reason(status, code):
    call = make_call(status=Call.Status.SENT, provider_call_id="p-1")
    results.apply_report(call, parse_report({"call_id": "p-1", "status": status}))
    assert failed(call) == ("failed", code, status)


def test_an_unreadable_passcode(monkeypatch):
    call = make_call()

    def unreadable(sealed):
        raise PasscodeUnreadable

    monkeypatch.setattr(placing, "open_otp", unreadable)
    sending.send_call(call.pk)
    assert failed(call) == ("failed", Code.PASSCODE_UNREADABLE, "passcode unreadable")


def test_a_refused_call(monkeypatch):
    call = make_call()
    start_call_raising(monkeypatch, ProviderRejected("The provider refused the request."))
    sending.send_call(call.pk)
    status, code, reason = failed(call)
    assert (status, code) == ("failed", Code.REJECTED)
    assert reason == "rejected: The provider refused the request."


def test_an_unavailable_provider(monkeypatch, voiceotp):
    voiceotp(SEND_MAX_RETRIES=0)
    call = make_call()
    start_call_raising(monkeypatch, ProviderUnavailable("The provider timed out."))
    sending.send_call(call.pk)
    status, code, reason = failed(call)
    assert (status, code) == ("failed", Code.PROVIDER_UNAVAILABLE)
    assert reason == "provider unavailable: The provider timed out."


def test_a_call_without_a_result_in_time(monkeypatch, voiceotp):
    voiceotp(POLL_SCHEDULE=(15,))
    sent_at = timezone.now() - timedelta(seconds=16)
    call = make_call(status=Call.Status.SENT, provider_call_id="p-1", sent_at=sent_at)
    report = parse_report({"call_id": "p-1", "status": ""})  # still in progress
    monkeypatch.setattr(
        "django_voiceotp.providers.pitel.PitelProvider.get_report", lambda self, call_id: report
    )
    results.poll_call(call.pk, force=True)
    assert failed(call) == ("failed", Code.TIMEOUT, "timeout")


def test_a_passcode_too_old_to_send():
    call = make_call(created_at=timezone.now() - timedelta(hours=1))
    assert sweeping.expire_stale_calls() == 1
    assert failed(call) == ("failed", Code.EXPIRED, "expired")


def test_a_call_placed_again(enqueued):
    call = make_call(created_at=timezone.now())
    new_call = sending.call_again(call)
    assert failed(call) == ("failed", Code.REPLACED, f"replaced by call {new_call.pk}")


def test_the_reason_is_the_codes_words_and_the_detail():
    assert failure_reason(Code.LIMITED) == "not placed again: a spending limit was reached"
    assert failure_reason(Code.REJECTED, "x" * 300) == "rejected: " + "x" * 245
    assert failure_reason(Code.PROVIDER_FAILED, "") == "failed"
    assert set(FAILURE_WORDS) == set(Code)  # every code has its words


# -- the metric's label is the code ---------------------------------------------------------------


def test_every_code_is_its_own_label():
    assert [metrics.failure_class(code) for code in Code] == [code.value for code in Code]
    assert metrics.failure_class("") == "unknown"


def test_an_unreadable_passcode_is_not_counted_as_the_providers_failure(
    monkeypatch, django_capture_on_commit_callbacks
):
    from prometheus_client import REGISTRY

    def count(failure_class: str) -> float:
        labels = {"status": "failed", "failure_class": failure_class}
        return REGISTRY.get_sample_value("voiceotp_calls_finished_total", labels) or 0.0

    before = {name: count(name) for name in ("passcode_unreadable", "provider_failed")}
    call = make_call()

    def unreadable(sealed):
        raise PasscodeUnreadable

    monkeypatch.setattr(placing, "open_otp", unreadable)
    with django_capture_on_commit_callbacks(execute=True):
        sending.send_call(call.pk)
    assert count("passcode_unreadable") - before["passcode_unreadable"] == 1
    assert count("provider_failed") == before["provider_failed"]


# -- the admin filters by code --------------------------------------------------------------------


def test_the_admin_filters_calls_by_failure_code(admin_client):
    unreadable = make_call(status="failed", failure_code=Code.PASSCODE_UNREADABLE)
    make_call(status="failed", failure_code=Code.NOT_REACHED, failure_reason="BUSY")
    changelist = reverse("admin:django_voiceotp_call_changelist")
    response = admin_client.get(changelist, {"failure_code": Code.PASSCODE_UNREADABLE})
    assert response.status_code == 200
    assert [call.pk for call in response.context["cl"].result_list] == [unreadable.pk]
    page = admin_client.get(reverse("admin:django_voiceotp_call_change", args=[unreadable.pk]))
    assert "the passcode could not be read (SECRET_KEY changed)" in page.content.decode()


# -- the reasons stored before: mapped to codes ---------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_the_migration_maps_every_reason_written_before_to_its_code():
    before, after = (
        ("django_voiceotp", "0006_callbackevent_rejection_index"),
        (
            "django_voiceotp",
            "0007_call_failure_code",
        ),
    )
    executor = MigrationExecutor(connection)
    executor.migrate([before])
    apps = executor.loader.project_state([before]).apps
    OldCall = apps.get_model("django_voiceotp", "Call")
    campaign = apps.get_model("django_voiceotp", "Campaign").objects.create(campaign_id="c78af")
    reasons = {
        "expired": Code.EXPIRED,
        "timeout": Code.TIMEOUT,
        "rejected: The provider refused the request (HTTP 404).": Code.REJECTED,
        "provider unavailable: Could not reach the provider.": Code.PROVIDER_UNAVAILABLE,
        "passcode unreadable": Code.PASSCODE_UNREADABLE,
        "replaced by call 12": Code.REPLACED,
        "NOANWSER": Code.NOT_REACHED,
        "busy": Code.NOT_REACHED,
        "Fail": Code.PROVIDER_FAILED,
        "CONGESTION": Code.PROVIDER_FAILED,
        "failed": Code.PROVIDER_FAILED,
    }
    for reason in reasons:
        OldCall.objects.create(
            campaign=campaign, phone_number="0771122330", status="failed", failure_reason=reason
        )
    OldCall.objects.create(campaign=campaign, phone_number="0771122330", status="success")
    try:
        executor = MigrationExecutor(connection)
        executor.migrate([after])
        # Read as the table stands after the migration (later ones add columns).
        MigratedCall = executor.loader.project_state([after]).apps.get_model(
            "django_voiceotp", "Call"
        )
        stored = dict(MigratedCall.objects.values_list("failure_reason", "failure_code"))
        assert stored == {**reasons, "": ""}
    finally:
        call_command("migrate", "django_voiceotp", verbosity=0)
        Call.objects.all().delete()
        Campaign.objects.all().delete()
