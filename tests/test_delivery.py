"""Reaching the person, in eager mode against the sandbox: redials, then the fallback."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from django_voiceotp import delivery, jobs, request_code, results, send_otp, tasks, verify_code
from django_voiceotp.models import Call
from django_voiceotp.sealing import open_otp, seal_otp

from . import fallback_senders

pytestmark = pytest.mark.django_db(transaction=True)

PHONE = "0771122330"
OTP = "482915"


@pytest.fixture
def provider(sandbox, voiceotp, clock):
    """The sandbox with calls final at once, and redials on: one, twenty seconds after a failure.

    The clock is stopped: the test moves it past REDIAL_DELAY."""
    sandbox.configure(call_duration=0)
    voiceotp(REDIAL_MAX=1, REDIAL_DELAY=20)
    return sandbox


def poll_now():
    call_command("voiceotp_poll", stdout=open("/dev/null", "w"))  # noqa: SIM115


def passcodes_read(sandbox) -> list[bool]:
    """For each call the provider placed, whether it read OTP (booleans: nothing printed)."""
    return [request.body["contact"]["otp"] == OTP for request in sandbox.requests_for("voiceotp")]


def test_not_answered_then_answered_on_the_redial(provider, signals, clock):
    provider.script(PHONE, ["NOANWSER", "Success"])
    first = send_otp(PHONE, OTP)
    poll_now()
    first.refresh_from_db()
    redial = Call.objects.get(redial_of=first)
    assert (first.status, first.failure_reason, first.otp) == ("failed", "NOANWSER", "")
    assert (redial.status, redial.attempt, redial.created_at) == ("pending", 2, first.created_at)
    assert redial.next_attempt_at == first.finished_at + timedelta(seconds=20)
    failed = [kwargs for name, pk, kwargs in signals.events if name == "failed"]
    assert [(kwargs["reason"], kwargs["redial"].pk) for kwargs in failed] == [
        ("NOANWSER", redial.pk)
    ]

    # Not before REDIAL_DELAY: the sweeper leaves it alone, and so does an early task.
    tasks.poll_pending_calls()
    tasks.send_redial(redial.pk)
    assert len(provider.requests_for("voiceotp")) == 1
    clock.shift(timedelta(seconds=21))
    tasks.poll_pending_calls()
    poll_now()
    redial.refresh_from_db()
    assert (redial.status, redial.otp) == ("success", "")
    assert passcodes_read(provider) == [True, True]
    succeeded = [pk for name, pk, kwargs in signals.events if name == "succeeded"]
    assert succeeded == [redial.pk]
    assert not Call.objects.filter(redial_of=redial).exists()


def test_at_most_redial_max_redials_per_delivery(provider, signals, clock):
    provider.script(PHONE, ["BUSY", "BUSY", "BUSY"])
    first = send_otp(PHONE, OTP)
    poll_now()
    clock.shift(timedelta(seconds=21))
    tasks.poll_pending_calls()
    poll_now()
    calls = list(Call.objects.order_by("pk"))
    assert [(call.status, call.failure_reason, call.attempt) for call in calls] == [
        ("failed", "BUSY", 1),
        ("failed", "BUSY", 2),
    ]
    assert calls[1].redial_of == first
    assert [call.otp for call in calls] == ["", ""]  # the delivery ended: no passcode kept
    failed = [(pk, kwargs["redial"]) for name, pk, kwargs in signals.events if name == "failed"]
    assert [(pk, redial and redial.pk) for pk, redial in failed] == [
        (calls[0].pk, calls[1].pk),
        (calls[1].pk, None),
    ]
    assert passcodes_read(provider) == [True, True]


@pytest.mark.parametrize("status", ["Fail", "CONGESTION", "invalid-number", "voicemail"])
def test_other_failures_are_not_redialed(provider, status):
    provider.script(PHONE, [status])
    call = send_otp(PHONE, OTP)
    poll_now()
    call.refresh_from_db()
    assert (call.status, call.otp) == ("failed", "")
    assert Call.objects.count() == 1


@pytest.mark.parametrize(
    "status",
    [
        "NOANWSER",
        "noanswer",
        "no-answered",
        "No_Answered",
        "busy",
        "BUSY_LINE",
        "Not-Available",
        "not_available",
    ],
)
def test_every_spelling_of_not_reached_is_redialed(provider, status):
    provider.script(PHONE, [status])
    call = send_otp(PHONE, OTP)
    poll_now()
    assert Call.objects.filter(redial_of=call).count() == 1


def test_redial_statuses_is_a_setting(provider, voiceotp):
    voiceotp(REDIAL_STATUSES=["fail"])
    provider.script(PHONE, ["FAIL"])
    call = send_otp(PHONE, OTP)
    poll_now()
    assert Call.objects.filter(redial_of=call).count() == 1


def test_no_redial_by_default(sandbox, voiceotp):
    sandbox.configure(call_duration=0)
    sandbox.script(PHONE, ["NOANWSER"])
    call = send_otp(PHONE, OTP)
    poll_now()
    call.refresh_from_db()
    assert (call.status, call.otp, Call.objects.count()) == ("failed", "", 1)


def test_no_redial_once_the_passcode_is_too_old(provider, signals, voiceotp, clock):
    voiceotp(OTP_MAX_AGE=60)
    provider.script(PHONE, ["NOANWSER", "Success"])
    call = send_otp(PHONE, OTP)
    # Reported 45 s on: the redial would be due at 65 s, past the passcode's life.
    clock.shift(timedelta(seconds=45))
    poll_now()
    call.refresh_from_db()
    assert (call.status, call.otp, Call.objects.count()) == ("failed", "", 1)
    failed = [kwargs["redial"] for name, pk, kwargs in signals.events if name == "failed"]
    assert failed == [None]


def test_duplicated_reports_racing_place_one_redial(provider, callbacks_to, signals):
    provider.inject("duplicate_callbacks", copies=3)
    provider.script(PHONE, ["NOANWSER"])
    call = send_otp(PHONE, OTP)
    provider.wait_for_callbacks()
    poll_now()
    results.poll_call(call.pk, force=True)
    assert Call.objects.filter(redial_of=call).count() == 1
    assert Call.objects.count() == 2
    assert [name for name, pk, kwargs in signals.events if name == "failed"] == ["failed"]


def test_the_code_heard_on_the_redial_verifies(provider, clock, voiceotp):
    voiceotp(RESEND_COOLDOWN=0)
    provider.script(PHONE, ["NOANWSER", "Success"])
    verification = request_code(PHONE)
    poll_now()
    clock.shift(timedelta(seconds=21))
    tasks.poll_pending_calls()
    poll_now()
    heard = provider.calls[0].otp
    assert [call.otp == heard for call in provider.calls] == [True, True]
    assert verify_code(PHONE, heard, verification=verification) is True


def test_the_sweeper_erases_passcodes_older_than_otp_max_age(voiceotp):
    from django_voiceotp.models import Campaign

    campaign = Campaign.objects.create(campaign_id="c78af")
    old = timezone.now() - timedelta(seconds=301)
    stale = Call.objects.create(
        campaign=campaign, phone_number=PHONE, otp=seal_otp(OTP), status="sent", created_at=old
    )
    fresh = Call.objects.create(
        campaign=campaign, phone_number=PHONE, otp=seal_otp(OTP), status="sent"
    )
    assert delivery.erase_stale_passcodes() == 1
    stale.refresh_from_db()
    fresh.refresh_from_db()
    assert (stale.otp, open_otp(fresh.otp) == OTP) == ("", True)


# -- the fallback --------------------------------------------------------------------------------


@pytest.fixture
def fallback(provider, voiceotp):
    """FALLBACK_SENDER records what it is handed: ``fallback.handed``."""
    fallback_senders.reset()
    voiceotp(FALLBACK_SENDER="tests.fallback_senders.record")
    yield fallback_senders
    fallback_senders.reset()


def handed_the_passcode(senders, otp=OTP) -> list[tuple[bool, int]]:
    """(whether it was the passcode, call id) per hand-over: booleans, nothing printed."""
    return [(handed_otp == otp, call_id) for phone, handed_otp, call_id in senders.handed]


def test_busy_three_times_two_calls_then_the_fallback_once(fallback, clock, signals):
    provider = sandbox_provider()
    provider.script(PHONE, ["BUSY", "BUSY", "BUSY"])
    send_otp(PHONE, OTP)
    poll_now()
    clock.shift(timedelta(seconds=21))
    tasks.poll_pending_calls()
    poll_now()
    first, redial = Call.objects.order_by("pk")
    assert len(provider.requests_for("voiceotp")) == 2
    assert handed_the_passcode(fallback) == [(True, redial.pk)]
    assert [phone for phone, otp, pk in fallback.handed] == [PHONE]
    assert [(call.fallback_status, call.otp) for call in (first, redial)] == [
        ("", ""),
        ("sent", ""),
    ]
    assert redial.fallback_sent_at is not None
    # Duplicated tasks and the sweeper's copy hand nothing over again.
    tasks.run_fallback(redial.pk)
    clock.shift(timedelta(seconds=120))
    tasks.poll_pending_calls()
    assert len(fallback.handed) == 1


def sandbox_provider():
    from django_voiceotp.sandbox.state import provider

    return provider


def test_no_fallback_after_a_success(fallback, clock):
    sandbox_provider().script(PHONE, ["NOANWSER", "Success"])
    send_otp(PHONE, OTP)
    poll_now()
    clock.shift(timedelta(seconds=21))
    tasks.poll_pending_calls()
    poll_now()
    assert [call.status for call in Call.objects.order_by("pk")] == ["failed", "success"]
    assert fallback.handed == []
    assert set(Call.objects.values_list("otp", "fallback_status")) == {("", "")}


def test_no_redial_and_no_fallback_with_an_expired_passcode(fallback, clock, signals):
    sandbox_provider().script(PHONE, ["NOANWSER"])
    call = send_otp(PHONE, OTP)
    clock.shift(timedelta(seconds=301))
    poll_now()
    call.refresh_from_db()
    assert (call.status, call.otp, call.fallback_status) == ("failed", "", "")
    assert Call.objects.count() == 1
    assert fallback.handed == []
    assert [kwargs["redial"] for name, pk, kwargs in signals.events if name == "failed"] == [None]


def test_a_refused_call_goes_to_the_fallback(fallback):
    sandbox_provider().inject("error_200", endpoint="voiceotp", code=400, error="bad number")
    call = send_otp(PHONE, OTP)
    call.refresh_from_db()
    assert call.failure_reason.startswith("rejected: ")
    assert handed_the_passcode(fallback) == [(True, call.pk)]


def test_an_unavailable_provider_goes_to_the_fallback(fallback, voiceotp):
    voiceotp(SEND_MAX_RETRIES=0)
    sandbox_provider().inject("http_error", endpoint="voiceotp", status=503)
    call = send_otp(PHONE, OTP)
    call.refresh_from_db()
    assert call.failure_reason.startswith("provider unavailable: ")
    assert handed_the_passcode(fallback) == [(True, call.pk)]


def test_a_timed_out_call_goes_to_the_fallback(fallback, clock, voiceotp):
    voiceotp(POLL_SCHEDULE=(15,), OTP_MAX_AGE=600)
    sandbox_provider().inject("in_progress", times=5)
    call = send_otp(PHONE, OTP)
    clock.shift(timedelta(seconds=16))
    tasks.poll_pending_calls()
    call.refresh_from_db()
    assert call.failure_reason == "timeout"
    assert handed_the_passcode(fallback) == [(True, call.pk)]


def test_a_raising_sender_is_retried_a_bounded_number_of_times_and_logged_without_the_passcode(
    fallback, voiceotp, caplog
):
    voiceotp(FALLBACK_SENDER="tests.fallback_senders.always_raising")
    sandbox_provider().script(PHONE, ["Fail"])
    with caplog.at_level("INFO", logger="django_voiceotp"):
        call = send_otp(PHONE, OTP)
        poll_now()
    call.refresh_from_db()
    assert len(fallback.handed) == delivery.FALLBACK_MAX_ATTEMPTS
    assert (call.fallback_status, call.fallback_attempts, call.otp) == (
        "failed",
        delivery.FALLBACK_MAX_ATTEMPTS,
        "",
    )
    logged_the_passcode = OTP in caplog.text
    assert (logged_the_passcode, "SMSGatewayDown" in caplog.text) == (False, True)
    assert "given up" in caplog.text


def test_a_sender_that_refuses_for_good_is_not_retried(fallback, voiceotp, caplog):
    voiceotp(FALLBACK_SENDER="tests.fallback_senders.rejecting")
    sandbox_provider().script(PHONE, ["Fail"])
    with caplog.at_level("INFO", logger="django_voiceotp"):
        call = send_otp(PHONE, OTP)
        poll_now()
        tasks.poll_pending_calls()  # the sweeper finds nothing left to retry
    call.refresh_from_db()
    assert len(fallback.handed) == 1
    assert (call.fallback_status, call.fallback_attempts, call.otp) == ("failed", 1, "")
    errors = [record for record in caplog.records if record.levelname == "ERROR"]
    assert [("not retried" in record.getMessage()) for record in errors] == [True]
    assert ("101" in errors[0].getMessage(), OTP in caplog.text) == (True, False)


def test_a_sender_that_raises_once_sends_on_its_retry(fallback, voiceotp):
    voiceotp(FALLBACK_SENDER="tests.fallback_senders.flaky")
    fallback.failures_left = 1
    sandbox_provider().script(PHONE, ["Fail"])
    call = send_otp(PHONE, OTP)
    poll_now()
    call.refresh_from_db()
    assert [passcode for passcode, pk in handed_the_passcode(fallback)] == [True, True]
    assert (call.fallback_status, call.fallback_attempts, call.otp) == ("sent", 2, "")


def test_a_fallback_whose_passcode_aged_meanwhile_is_not_sent(fallback, clock, dispatched):
    sandbox_provider().script(PHONE, ["Fail"])
    call = send_otp(PHONE, OTP)
    jobs.send_call(call.pk)  # the recording dispatcher runs nothing: the test runs the send
    poll_now()
    assert dispatched.call_ids["run_fallback"] == [call.pk]
    clock.shift(timedelta(seconds=301))
    tasks.run_fallback(call.pk)
    call.refresh_from_db()
    assert (call.fallback_status, call.otp, fallback.handed) == ("expired", "", [])


def test_the_code_read_in_the_fallback_verifies(fallback, voiceotp):
    sandbox_provider().script(PHONE, ["Fail"])
    verification = request_code(PHONE)
    poll_now()
    [(phone, code, call_id)] = fallback.handed
    assert call_id == verification.call_id
    assert verify_code(PHONE, code, verification=verification) is True


def test_the_console_sender_writes_the_message(capsys):
    from django_voiceotp.models import Campaign
    from django_voiceotp.senders import console_sender

    campaign = Campaign.objects.create(campaign_id="c78af")
    call = Call.objects.create(campaign=campaign, phone_number=PHONE)
    console_sender(phone_number=PHONE, otp=OTP, call=call)
    written = capsys.readouterr().out
    assert written.startswith(f"To: {PHONE}\nCall: {call.pk}\n")
    assert (f"Your code is {OTP}." in written) is True
