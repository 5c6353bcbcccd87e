"""The delivery pipeline in eager mode, against the sandbox over loopback HTTP.

One test (at least) per reliability rule of the design: each would fail without the rule.
"""

from __future__ import annotations

import logging
import threading
from datetime import timedelta

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import transaction
from django.utils import timezone

from django_voiceotp import claims, results, send_otp, sending, sweeping, tasks
from django_voiceotp.conf import voiceotp_settings
from django_voiceotp.exceptions import CampaignUnavailable, InvalidOTP, InvalidPhoneNumber
from django_voiceotp.models import Call, CallbackEvent, Campaign
from django_voiceotp.sealing import open_otp, seal_otp
from django_voiceotp.signals import call_succeeded

OTP = "482915"

pytestmark = pytest.mark.django_db(transaction=True)


def reload(call):
    return Call.objects.get(pk=call.pk)


def sweep_at(time_machine, seconds):
    """Run the sweeper as beat would, ``seconds`` from now."""
    time_machine.move_to(timezone.now() + timedelta(seconds=seconds), tick=True)
    return tasks.poll_pending_calls()


# -- send_otp -------------------------------------------------------------------------------------


def test_invalid_input_stores_nothing(sandbox):
    with pytest.raises(InvalidPhoneNumber):
        send_otp("12345", OTP)
    with pytest.raises(InvalidOTP):
        send_otp("0771122330", "12ab")
    assert Call.objects.count() == 0
    assert sandbox.requests == []


def test_campaign_resolution(sandbox, voiceotp):
    call = send_otp("0771122330", OTP, campaign="c78af")
    assert call.campaign.campaign_id == "c78af"
    inactive = Campaign.objects.create(campaign_id="old", is_active=False)
    with pytest.raises(CampaignUnavailable, match="inactive"):
        send_otp("0771122330", OTP, campaign=inactive)
    with pytest.raises(CampaignUnavailable, match="not saved"):
        send_otp("0771122330", OTP, campaign=Campaign(campaign_id="new"))
    voiceotp(DEFAULT_CAMPAIGN=None)
    with pytest.raises(CampaignUnavailable, match="DEFAULT_CAMPAIGN"):
        send_otp("0771122330", OTP)


def test_nothing_sent_from_a_rolled_back_transaction(sandbox):
    with pytest.raises(RuntimeError), transaction.atomic():
        send_otp("0771122330", OTP)
        raise RuntimeError("the sign-up failed")
    assert Call.objects.count() == 0
    assert sandbox.requests_for("voiceotp") == []


def test_send_waits_for_the_commit(sandbox):
    with transaction.atomic():
        call = send_otp("0771122330", OTP)
        assert sandbox.requests_for("voiceotp") == []
        assert reload(call).status == Call.Status.PENDING
    assert reload(call).status == Call.Status.SENT


# -- the round trip -----------------------------------------------------------------------------


def test_round_trip_by_callback(sandbox, callbacks_to, signals):
    call = send_otp("+84 77 112 2330", OTP)
    call = reload(call)
    assert call.status == Call.Status.SENT
    assert call.provider_call_id == sandbox.calls[0].call_id
    assert open_otp(call.otp) == OTP  # sealed, kept while a redial or the fallback may need it
    assert call.phone_number == "0771122330"
    assert sandbox.calls[0].callback_url.startswith(f"{callbacks_to}/voiceotp/callbacks/")

    assert sandbox.wait_for_callbacks()
    call = reload(call)
    assert call.status == Call.Status.SUCCESS
    assert call.duration and call.started_at and call.finished_at
    assert signals.names(call.pk) == [
        ("changed", "pending", "sent"),
        ("changed", "sent", "success"),
        ("succeeded", None),
    ]
    (event,) = CallbackEvent.objects.all()
    assert (event.call_id, event.verdict) == (call.pk, CallbackEvent.Verdict.APPLIED)
    assert event.payload["keypress"] == "[redacted]"


def test_failure_by_callback(sandbox, callbacks_to, signals):
    call = send_otp("0771122339", OTP)
    assert sandbox.wait_for_callbacks()
    call = reload(call)
    assert (call.status, call.failure_reason, call.raw_status) == ("failed", "Fail", "Fail")
    assert signals.names(call.pk)[-1] == ("failed", "Fail")
    assert [name for name, *_ in signals.names(call.pk)].count("failed") == 1


def test_polling_without_callback(sandbox, signals, time_machine):
    call = send_otp("0771122338", OTP)
    assert reload(call).status == Call.Status.SENT
    # Eager mode does not run the poll at once: it is due 15 s after sending.
    assert sandbox.requests_for("report") == []
    assert tasks.poll_pending_calls() == {"expired": 0, "sent": 0, "polled": 0}

    assert sweep_at(time_machine, 16)["polled"] == 1
    call = reload(call)
    assert (call.status, call.failure_reason) == ("failed", "NOANWSER")
    assert signals.names(call.pk)[-1] == ("failed", "NOANWSER")


def test_report_in_progress_keeps_polling_then_times_out(sandbox, signals, time_machine):
    sandbox.inject("in_progress", endpoint="report", times=10)
    call = send_otp("0771122330", OTP)
    sent_at = reload(call).sent_at

    sweep_at(time_machine, 16)
    call = reload(call)
    assert (call.status, call.poll_count) == ("sent", 1)
    assert call.next_poll_at == sent_at + timedelta(seconds=30)

    # Early runs (a duplicated task, eager mode) do nothing: the schedule is real time.
    assert results.poll_call(call.pk) is None
    assert len(sandbox.requests_for("report")) == 1

    for point in (30, 60, 120):
        time_machine.move_to(sent_at + timedelta(seconds=point + 1), tick=True)
        tasks.poll_pending_calls()
        assert reload(call).status == Call.Status.SENT
    time_machine.move_to(sent_at + timedelta(seconds=301), tick=True)
    tasks.poll_pending_calls()
    call = reload(call)
    assert (call.status, call.failure_reason) == ("failed", "timeout")
    assert len(sandbox.requests_for("report")) == 5  # one per POLL_SCHEDULE point
    assert signals.names(call.pk)[-1] == ("failed", "timeout")


def test_voiceotp_poll_command_polls_now(sandbox, time_machine, capsys):
    call = send_otp("0771122330", OTP)
    time_machine.move_to(timezone.now() + timedelta(seconds=2), tick=True)  # the call has ended
    call_command("voiceotp_poll")
    assert reload(call).status == Call.Status.SUCCESS
    assert "Polled 1 call(s): 1 success" in capsys.readouterr().out


def test_voiceotp_send_command(sandbox, capsys):
    call_command("voiceotp_send", "0771122330")
    out = capsys.readouterr().out
    call = Call.objects.get()
    assert f"Call {call.pk} to 077****330: sent" in out
    assert sandbox.calls[0].otp not in out


# -- duplicates and races -------------------------------------------------------------------------


def test_duplicate_callbacks_change_nothing(sandbox, callbacks_to, signals):
    sandbox.inject("duplicate_callbacks", endpoint="voiceotp", copies=3)
    call = send_otp("0771122330", OTP)
    assert sandbox.wait_for_callbacks()
    # The copies after the result are counted on one event (bounded storage).
    verdicts = sorted(CallbackEvent.objects.values_list("verdict", "count"))
    assert verdicts == [("applied", 1), ("duplicate", 2)]
    assert [name for name, *_ in signals.names(call.pk)] == ["changed", "changed", "succeeded"]
    assert all(code == 200 for code in sandbox.calls[0].callback_responses)


def test_callback_before_the_send_returns(sandbox, callbacks_to, signals):
    sandbox.inject("early_callback", endpoint="voiceotp")
    call = send_otp("0771122330", OTP)
    call = reload(call)
    # The result applied by the callback stands; the send's answer only fills in nothing.
    assert call.status == Call.Status.SUCCESS
    assert call.provider_call_id == sandbox.calls[0].call_id
    assert call.otp == ""
    assert signals.names(call.pk) == [("changed", "pending", "success"), ("succeeded", None)]


def test_duplicated_send_task_places_one_call(sandbox):
    campaign = Campaign.objects.create(campaign_id="c78af")
    call = Call.objects.create(campaign=campaign, phone_number="0771122330", otp=seal_otp(OTP))
    barrier = threading.Barrier(4)

    def run():
        barrier.wait()
        tasks.send_call(call.pk)

    threads = [threading.Thread(target=run) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    tasks.send_call(call.pk)
    assert len(sandbox.requests_for("voiceotp")) == 1
    assert reload(call).status == Call.Status.SENT


def assert_read_as_the_orm_reads(read: Call) -> None:
    """``read`` holds every value, of the same type, that the ORM reads for it, its campaign
    attached (no query when used)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    stored = Call.objects.select_related("campaign").get(pk=read.pk)
    for field in Call._meta.concrete_fields:
        value = getattr(read, field.attname)
        assert value == getattr(stored, field.attname), field.name
        assert type(value) is type(getattr(stored, field.attname)), field.name  # SQLite's text
    assert (read.created_at.tzinfo is not None) is settings.USE_TZ and read.is_test is False
    with CaptureQueriesContext(connection) as queries:
        campaign = read.campaign
    assert len(queries) == 0
    for field in Campaign._meta.concrete_fields:
        assert getattr(campaign, field.attname) == getattr(stored.campaign, field.attname)
    assert campaign.is_active is True
    assert (campaign.created_at.tzinfo is not None) is settings.USE_TZ
    assert read._state.adding is False and read._state.db == "default"


@pytest.fixture(params=[True, False], ids=["USE_TZ", "naive"])
def use_tz(request, settings):
    settings.USE_TZ = request.param


def test_the_claim_reads_back_the_call_and_its_campaign_as_the_orm_would(use_tz):
    campaign = Campaign.objects.create(campaign_id="c78af", name="Sign-in")
    call = Call.objects.create(campaign=campaign, phone_number="0771122330", otp=seal_otp(OTP))
    now = timezone.now()
    claimed = claims.claim_and_read(call.pk, now)

    assert claimed is not None and claimed.send_attempts == 1
    assert claimed.next_attempt_at > now  # the lease
    assert_read_as_the_orm_reads(claimed)


def test_read_call_reads_the_call_and_its_campaign_as_the_orm_would(use_tz):
    campaign = Campaign.objects.create(campaign_id="c78af", name="Sign-in")
    call = Call.objects.create(
        campaign=campaign,
        phone_number="0771122330",
        status="sent",
        provider_call_id="p-1",
        sent_at=timezone.now(),
        duration=12,
    )
    read = claims.read_call(call.pk)
    assert read is not None and (read.status, read.provider_call_id) == ("sent", "p-1")
    assert_read_as_the_orm_reads(read)
    assert claims.read_call(10**9) is None


def test_send_otp_reads_its_campaign_as_the_orm_would_and_creates_a_missing_one():
    created = Campaign.objects.create(campaign_id="c78af", name="Sign-in", is_active=True)
    read = claims.read_campaign("c78af")
    for field in Campaign._meta.concrete_fields:
        value = getattr(read, field.attname)
        assert value == getattr(created, field.attname) and type(value) is type(
            getattr(created, field.attname)
        ), field.name
    assert claims.read_campaign("nope") is None
    # A campaign id not stored yet is created, once, however it is asked for.
    assert sending.resolve_campaign("new-one").campaign_id == "new-one"
    assert sending.resolve_campaign("new-one").pk == Campaign.objects.get(campaign_id="new-one").pk
    Campaign.objects.filter(campaign_id="c78af").update(is_active=False)
    with pytest.raises(CampaignUnavailable):
        sending.resolve_campaign("c78af")


def test_the_claim_takes_only_a_call_it_may_send(sandbox, signals):
    campaign = Campaign.objects.create(campaign_id="c78af")
    now = timezone.now()
    held = now + timedelta(seconds=60)
    unclaimable = [
        Call.objects.create(campaign=campaign, phone_number="0771122330", status="sent"),
        # Held by another attempt (its lease), or its retry not yet due.
        Call.objects.create(
            campaign=campaign, phone_number="0771122330", send_attempts=1, next_attempt_at=held
        ),
        # Retried once, with no time set: not claimable, as the ORM claim has it.
        Call.objects.create(campaign=campaign, phone_number="0771122330", send_attempts=1),
    ]
    for call in unclaimable:
        before = reload(call)
        assert claims.claim_and_read(call.pk, now) is None
        assert sending.send_call(call.pk) is None
        after = reload(call)
        assert (after.status, after.send_attempts) == (before.status, before.send_attempts)
    assert claims.claim_and_read(10**9, now) is None
    assert sending.send_call(10**9) is None

    # A retry whose time has come is claimed, attempt counted.
    due = Call.objects.create(
        campaign=campaign,
        phone_number="0771122331",
        otp=seal_otp(OTP),
        send_attempts=2,
        next_attempt_at=now - timedelta(seconds=1),
    )
    assert claims.claim_and_read(due.pk, now).send_attempts == 3
    # Too old to send: not claimed, and the send task fails it as expired, placing nothing.
    old = Call.objects.create(
        campaign=campaign,
        phone_number="0771122332",
        otp=seal_otp(OTP),
        created_at=now - timedelta(seconds=301),
    )
    assert claims.claim_and_read(old.pk, now) is None
    assert sending.send_call(old.pk) is None
    assert (reload(old).status, reload(old).failure_reason) == ("failed", "expired")
    assert sandbox.requests_for("voiceotp") == []


def test_racing_poll_and_callback_fire_one_signal(sandbox, callbacks_to, signals, time_machine):
    sandbox.configure(call_duration=0.2, callback_delay=0.0)
    call = send_otp("0771122330", OTP)
    time_machine.move_to(timezone.now() + timedelta(seconds=16), tick=True)
    tasks.poll_pending_calls()
    assert sandbox.wait_for_callbacks()
    assert [name for name, *_ in signals.names(call.pk)].count("succeeded") == 1
    assert reload(call).status == Call.Status.SUCCESS


# -- faults ---------------------------------------------------------------------------------------


# The backoff a worker waits, driven through the service: eager mode runs a send retry at once
# (tests/test_eager.py), so the waits are not seen through send_otp here.


def pending_call():
    campaign, _ = Campaign.objects.get_or_create(campaign_id="c78af")
    return Call.objects.create(campaign=campaign, phone_number="0771122330", otp=seal_otp(OTP))


def later(time_machine, seconds):
    time_machine.move_to(timezone.now() + timedelta(seconds=seconds), tick=False)


@pytest.mark.parametrize(
    ("kind", "params"),
    [
        ("http_error", {"status": 503}),
        ("garbage", {}),
        ("rate_limit", {}),
        ("slow", {"seconds": 1.0}),
    ],
)
def test_retries_with_backoff_then_delivers(sandbox, voiceotp, time_machine, kind, params):
    voiceotp(TIMEOUT=(1.0, 0.5))
    time_machine.move_to(timezone.now(), tick=False)  # so the delays read exactly
    sandbox.inject(kind, endpoint="voiceotp", times=2, **params)
    call = pending_call()
    retry_in = sending.send_call(call.pk)
    call = reload(call)
    assert (call.status, call.send_attempts) == ("pending", 1)
    assert 1 <= retry_in <= 2
    assert call.next_attempt_at == timezone.now() + timedelta(seconds=retry_in)

    assert sending.send_call(call.pk) is None  # not yet due: no retry storm
    assert len(sandbox.requests_for("voiceotp")) == 1

    later(time_machine, 2)
    retry_in = sending.send_call(call.pk)
    call = reload(call)
    assert (call.status, call.send_attempts) == ("pending", 2)
    assert 2 <= retry_in <= 4  # doubled

    later(time_machine, 4)
    assert sending.send_call(call.pk) is None  # sent: the sweeper brings its first poll
    call = reload(call)
    assert (call.status, call.send_attempts) == ("sent", 3)
    assert call.next_poll_at == timezone.now() + timedelta(
        seconds=voiceotp_settings.POLL_SCHEDULE[0]
    )
    assert len(sandbox.requests_for("voiceotp")) == 3


def test_connection_refused_is_retried(sandbox, settings, voiceotp, time_machine):
    sandbox_url = settings.VOICEOTP["API_URL"]
    voiceotp(API_URL="http://127.0.0.1:9/")
    call = pending_call()
    assert sending.send_call(call.pk) > 0  # a retry, in that many seconds
    assert reload(call).status == Call.Status.PENDING
    voiceotp(API_URL=sandbox_url)
    later(time_machine, 2)
    sending.send_call(call.pk)
    assert reload(call).status == Call.Status.SENT


def test_retry_limit_fails_with_a_reason(sandbox, voiceotp, signals):
    voiceotp(SEND_MAX_RETRIES=1)
    sandbox.inject("http_error", endpoint="voiceotp", times=5, status=500)
    call = send_otp("0771122330", OTP)  # eager: the retry runs at once
    call = reload(call)
    assert call.status == Call.Status.FAILED
    assert call.failure_reason.startswith("provider unavailable: ")
    assert "HTTP 500" in call.failure_reason
    assert call.otp == ""
    assert len(sandbox.requests_for("voiceotp")) == 2
    assert signals.names(call.pk)[-1][0] == "failed"


def test_final_4xx_fails_at_once(sandbox, signals):
    call = send_otp("0771122330", OTP, campaign="unknown")
    call = reload(call)
    assert call.status == Call.Status.FAILED
    assert call.failure_reason.startswith("rejected: ")
    assert "HTTP 404" in call.failure_reason
    assert len(sandbox.requests_for("voiceotp")) == 1
    assert signals.names(call.pk) == [
        ("changed", "pending", "failed"),
        ("failed", call.failure_reason),
    ]


def test_error_under_http_200_fails_at_once(sandbox):
    sandbox.inject("error_200", endpoint="voiceotp")
    call = reload(send_otp("0771122330", OTP))
    assert call.status == Call.Status.FAILED
    assert "code 404" in call.failure_reason


def test_expired_token_is_refreshed_and_the_call_sent(sandbox):
    send_otp("0771122330", OTP)
    sandbox.inject("expire_token", endpoint="voiceotp")
    call = reload(send_otp("0771122331", OTP))
    assert call.status == Call.Status.SENT
    assert sandbox.token_requests == 2


def test_sweeper_sends_calls_whose_task_was_lost(sandbox, time_machine, lost_sends):
    call = send_otp("0771122330", OTP)
    assert reload(call).status == Call.Status.PENDING
    assert tasks.poll_pending_calls()["sent"] == 0  # its task may still come: grace period
    assert sweep_at(time_machine, 61)["sent"] == 1
    assert reload(call).status == Call.Status.SENT
    assert len(sandbox.requests_for("voiceotp")) == 1


def test_sweeper_expires_calls_too_old_to_send(sandbox, time_machine, signals, lost_sends):
    call = send_otp("0771122330", OTP)
    assert sweep_at(time_machine, 301)["expired"] == 1
    call = reload(call)
    assert (call.status, call.failure_reason, call.otp) == ("failed", "expired", "")
    assert sandbox.requests_for("voiceotp") == []
    assert signals.names(call.pk)[-1] == ("failed", "expired")


def test_a_send_in_flight_is_not_expired_under_it(sandbox, time_machine, signals, lost_sends):
    """Past OTP_MAX_AGE, a call whose send attempt still holds its lease is left to that attempt:
    failing it could announce "expired" for a call the provider is placing right now."""
    call = send_otp("0771122330", OTP)
    time_machine.move_to(timezone.now() + timedelta(seconds=299), tick=True)
    assert claims.claim_send(reload(call), timezone.now())  # its attempt starts at 299 s

    assert sweep_at(time_machine, 5)["expired"] == 0
    assert sending.send_call(call.pk) is None  # a duplicated task neither expires nor sends it
    assert reload(call).status == Call.Status.PENDING
    assert signals.names(call.pk) == []
    # The attempt died: once its lease is over the sweeper may expire the call.
    assert sweep_at(time_machine, claims.send_lease())["expired"] == 1
    assert (reload(call).status, reload(call).failure_reason) == ("failed", "expired")
    assert sandbox.requests_for("voiceotp") == []


def test_expiry_yields_to_a_send_that_claimed_the_call_meanwhile(sandbox, signals, lost_sends):
    call = send_otp("0771122330", OTP)
    read_by_the_sweeper = reload(call)  # pending, never claimed
    assert claims.claim_send(reload(call), timezone.now())  # a worker claims it first

    assert sweeping.expire(read_by_the_sweeper) is False
    assert reload(call).status == Call.Status.PENDING
    assert signals.names(call.pk) == []


def test_the_sweeper_takes_the_longest_waiting_calls_first(monkeypatch):
    monkeypatch.setattr(sweeping, "SWEEP_BATCH", 2)
    campaign = Campaign.objects.create(campaign_id="c78af")
    now = timezone.now()
    waited = {}
    for seconds in (5, 30, 1, 20):
        due = now - timedelta(seconds=seconds)
        pending = Call.objects.create(
            campaign=campaign, phone_number="0771122330", next_attempt_at=due
        )
        sent = Call.objects.create(
            campaign=campaign, phone_number="0771122330", status="sent", next_poll_at=due
        )
        waited[seconds] = (pending.pk, sent.pk)

    assert sweeping.calls_due_for_send(now) == [waited[30][0], waited[20][0]]
    assert sweeping.calls_due_for_poll(now) == [waited[30][1], waited[20][1]]


def test_broker_down_at_enqueue_is_not_an_error(sandbox, monkeypatch, caplog):
    def broken_apply_async(*args, **kwargs):
        raise ConnectionError("broker down")

    monkeypatch.setattr(tasks.send_call, "apply_async", broken_apply_async)
    call = send_otp("0771122330", OTP)
    assert reload(call).status == Call.Status.PENDING
    warning = f"send_call of call {call.pk} to the queue (ConnectionError); the sweeper will run it"
    assert warning in caplog.text


# -- signals and secrets --------------------------------------------------------------------------


def test_a_receiver_that_raises_breaks_nothing(sandbox, callbacks_to, signals, caplog):
    def broken(**kwargs):
        raise RuntimeError("receiver bug")

    call_succeeded.connect(broken, weak=False, dispatch_uid="broken")
    try:
        call = send_otp("0771122330", OTP)
        assert sandbox.wait_for_callbacks()
    finally:
        call_succeeded.disconnect(dispatch_uid="broken")
    assert reload(call).status == Call.Status.SUCCESS
    assert sandbox.calls[0].callback_responses == [200]
    assert ("succeeded", None) in signals.names(call.pk)  # the other receivers still ran
    assert "receiver bug" in caplog.text


def test_no_otp_or_keypress_in_logs(sandbox, callbacks_to, caplog):
    caplog.set_level(logging.DEBUG)
    sandbox.inject("http_error", endpoint="voiceotp", status=502)
    call = send_otp("0771122330", OTP)  # eager: the retry runs at once
    assert sandbox.wait_for_callbacks()
    assert reload(call).status == Call.Status.SUCCESS
    assert "077****330" in caplog.text
    for secret in (OTP, "30511f666-f888-411b-a6e0-11111fb6gg7a", sandbox_token(sandbox)):
        assert secret not in caplog.text
    assert OTP not in repr(reload(call)) and OTP not in str(reload(call))


def sandbox_token(sandbox):
    from django_voiceotp.sandbox.constants import ACCESS_TOKEN

    return ACCESS_TOKEN


def test_retry_delays_grow_exponentially_with_jitter(voiceotp):
    voiceotp(SEND_RETRY_BACKOFF=2, SEND_RETRY_BACKOFF_MAX=20)
    for attempt, ceiling in [(1, 2), (2, 4), (3, 8), (4, 16), (5, 20), (9, 20)]:
        delays = {sending.retry_delay(attempt) for _ in range(50)}
        assert all(ceiling / 2 <= delay <= ceiling for delay in delays)
        assert len(delays) > 1  # jittered: failed sends do not all come back at once


@pytest.mark.parametrize("returning", [True, False], ids=["update-returning", "without"])
def test_a_send_costs_two_statements_and_schedules_no_poll(sandbox, monkeypatch, returning):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from django_voiceotp.sealing import open_otp, seal_otp

    monkeypatch.setattr(claims, "updates_returning", lambda connection: returning)
    campaign = Campaign.objects.create(campaign_id="c78af")
    call = Call.objects.create(campaign=campaign, phone_number="0771122330", otp=seal_otp(OTP))
    published = []
    monkeypatch.setattr(tasks.poll_call, "apply_async", lambda *a, **k: published.append(a))
    with CaptureQueriesContext(connection) as queries:
        assert sending.send_call(call.pk) is None
    statements = [q["sql"] for q in queries if "SAVEPOINT" not in q["sql"]]
    if returning:
        # The claim, which reads the call and its campaign back; the move to sent with the
        # provider's id: nothing else.
        assert len(statements) == 2, statements
        assert statements[0].startswith("UPDATE") and "RETURNING" in statements[0]
    else:
        # Where UPDATE … RETURNING is missing: the read, the claim, the move to sent.
        assert len(statements) == 3, statements
        assert statements[0].startswith("SELECT")
    assert published == []
    call = reload(call)
    assert (call.status, call.provider_call_id) == ("sent", sandbox.calls[0].call_id)
    # Kept sealed while the delivery goes on (a redial or the fallback may need it).
    assert OTP not in call.otp and open_otp(call.otp) == OTP
    assert call in Call.objects.due_for_poll(call.next_poll_at)  # the sweeper's to poll
