"""Reaching the person, in eager mode against the sandbox: redials of "not reached" calls."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from django_voiceotp import delivery, request_code, send_otp, services, tasks, verify_code
from django_voiceotp.models import Call
from django_voiceotp.sealing import open_otp, seal_otp

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
    services.poll_call(call.pk, force=True)
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
