"""What a code may cost: every call placed and every fallback message passes the limits, a site
budget stands above them, and a kill switch stops everything (docs/limits.rst)."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.urls import reverse
from prometheus_client import REGISTRY
from rest_framework.test import APIClient

from django_voiceotp import limits, request_code, send_otp, sending, tasks
from django_voiceotp.conf import voiceotp_settings
from django_voiceotp.exceptions import CallAgainRefused, ProviderUnavailable, RateLimited
from django_voiceotp.models import Call
from django_voiceotp.provider_reports import CallOutcome, CallReport
from django_voiceotp.providers.base import BaseProvider, StartedCall

from . import fallback_senders

pytestmark = pytest.mark.django_db(transaction=True)

ADDRESS = "203.0.113.7"
PHONE = "0771122338"  # ends in 8: the sandbox's call is not answered (NOANWSER)
OTP = "482915"
HOUR_LEFT = 45 * 60  # the clock fixture stops at 10:15 UTC


def unanswered(index: int) -> str:
    """A number of its own for ``index``, ending in 8: the sandbox does not answer it."""
    return f"090123{index:03d}8"


@pytest.fixture
def delivering(sandbox, voiceotp, clock):
    """Calls final at once, one redial 20 s after a call not reached, then a fallback message."""
    sandbox.configure(call_duration=0)
    voiceotp(REDIAL_MAX=1, REDIAL_DELAY=20, FALLBACK_SENDER="tests.fallback_senders.record")
    fallback_senders.reset()
    yield sandbox
    fallback_senders.reset()


def deliver_everything(clock) -> None:
    """Run every delivery to its end: the first calls' results, the redials, the fallbacks."""
    for _ in range(3):
        call_command("voiceotp_poll", stdout=open("/dev/null", "w"))  # noqa: SIM115
        clock.shift(timedelta(seconds=21))
        tasks.poll_pending_calls()


def calls_placed(sandbox) -> int:
    return len(sandbox.requests_for("voiceotp"))


def post(client: APIClient, phone_number: str):
    url = reverse("django_voiceotp:verification-list")
    return client.post(url, {"phone_number": phone_number}, format="json")


def budget_errors(caplog) -> list[str]:
    return [
        record.getMessage()
        for record in caplog.records
        if record.levelno == logging.ERROR and "site budget" in record.getMessage()
    ]


# -- N1: what one client and one number can spend ------------------------------------------------


def test_twenty_requests_from_one_address_place_twenty_calls_in_all(delivering, clock):
    """The issue's reproduction: 40 calls and 20 fallback messages before the 21st got 429."""
    client = APIClient(REMOTE_ADDR=ADDRESS)
    for index in range(20):
        assert post(client, unanswered(index)).status_code == 201
    assert post(client, unanswered(20)).status_code == 429
    deliver_everything(clock)

    # The address's 20 sends went on its first calls: no redial, no fallback message is left.
    assert calls_placed(delivering) == 20
    assert fallback_senders.handed == []
    calls = Call.objects.all()
    assert len(calls) == 20
    assert {(call.status, call.failure_reason, call.otp) for call in calls} == {
        ("failed", limits.SPENDING_LIMIT_REASON, "")
    }
    assert {call.raw_status for call in calls} == {"NOANWSER"}  # the provider's word is kept


def test_one_number_gets_at_most_its_day_in_calls_and_fallbacks(delivering, voiceotp, clock):
    """SENDS_PER_NUMBER_PER_DAY=10 allowed 20 calls and 10 messages to one number. Now calls and
    messages share its count; strangers reach SENDS_RESERVED_FOR_OWNER_PER_DAY (3) less: 7.

    Each stranger asks once the code before has expired: while another client's code is
    pending, a stranger's request waits (limit ``pending_code``) and spends nothing, so asking
    sooner spends less (test_strangers_asking_back_to_back_wait_for_the_pending_code)."""
    voiceotp(RESEND_COOLDOWN=0, SENDS_PER_NUMBER_PER_HOUR=None, SENDS_PER_NUMBER_PER_DAY=10)
    refused = []
    for index in range(10):
        client = APIClient(REMOTE_ADDR=f"198.51.100.{index + 1}")
        response = post(client, PHONE)
        if response.status_code == 429:
            refused.append(index)
        deliver_everything(clock)
        clock.shift(timedelta(seconds=voiceotp_settings.CODE_TTL))  # the code has expired
    # 7 = 10 - 3: two codes of call, redial, message each (6); the third code's call (7); its
    # redial is refused, and so is every later code.
    assert calls_placed(delivering) == 5
    assert len(fallback_senders.handed) == 2
    assert refused == list(range(3, 10))
    last = Call.objects.order_by("pk").last()
    assert (last.failure_reason, last.attempt) == (limits.SPENDING_LIMIT_REASON, 1)


def test_strangers_asking_back_to_back_wait_for_the_pending_code(delivering, voiceotp, clock):
    """The same ten strangers, each right after the last one's delivery ended (63 s later):
    a code another client asked for is not cancelled while valid (CODE_TTL, 300 s), so they
    wait, and only the first request and the one after its code expired are called."""
    voiceotp(RESEND_COOLDOWN=0, SENDS_PER_NUMBER_PER_HOUR=None, SENDS_PER_NUMBER_PER_DAY=10)
    refused = []
    for index in range(10):
        client = APIClient(REMOTE_ADDR=f"198.51.100.{index + 1}")
        response = post(client, PHONE)
        if response.status_code == 429:
            refused.append((index, int(response["Retry-After"])))
        deliver_everything(clock)  # 63 s
    # Requests 0 (at 0 s) and 5 (at 315 s, its code expired at 300 s) are admitted; the others
    # wait for the code of 0 or 5 to expire: 300 - 63, 300 - 126, ... seconds.
    waits = [237, 174, 111, 48]
    assert refused == list(zip([1, 2, 3, 4, 6, 7, 8, 9], waits + waits, strict=True))
    # Two codes: call, redial, message each; 6 of the 7 strangers may spend.
    assert calls_placed(delivering) == 4
    assert len(fallback_senders.handed) == 2


def test_unknown_clients_share_one_subject(voiceotp, clock):
    voiceotp(RESEND_COOLDOWN=0, SENDS_PER_IP_PER_HOUR=2)
    for index in range(2):
        with limits.consume_send(unanswered(index), "unknown"):
            pass
    with pytest.raises(RateLimited) as refusal:
        with limits.consume_send(unanswered(2), "unknown"):
            pass
    assert refusal.value.limit == "ip_hour"
    assert limits.ip_subject("unknown") == "unknown"
    assert limits.ip_subject("") == ""
    with limits.consume_send(unanswered(3), "203.0.113.9"):  # another client
        pass


# -- one call, counted once ----------------------------------------------------------------------


class ProviderDownTwice(BaseProvider):
    """Unavailable for the first two attempts, then places the call."""

    attempts = 0
    placed: list[str] = []

    def start_call(self, campaign_id, phone_number, otp, callback_url=None):
        ProviderDownTwice.attempts += 1
        if ProviderDownTwice.attempts <= 2:
            raise ProviderUnavailable("the provider is down")
        ProviderDownTwice.placed.append(str(phone_number))
        return StartedCall(call_id="lost-then-placed", campaign_id=campaign_id)

    def get_report(self, call_id):
        return CallReport(call_id=call_id, outcome=CallOutcome.SUCCESS, raw_status="Success")


def site_calls_used() -> int:
    return next(use.used for use in limits.site_budget() if use.name == "site_hour")


def test_a_lost_send_and_its_retries_are_the_one_call_counted(voiceotp, clock, lost_sends):
    """The sweeper sends a call whose send task was lost, and the send is retried while the
    provider is down: it is still the one call its code was counted for."""
    voiceotp(RESEND_COOLDOWN=0, SENDS_PER_NUMBER_PER_HOUR=2, REDIAL_MAX=0, FALLBACK_SENDER=None)
    ProviderDownTwice.attempts, ProviderDownTwice.placed = 0, []
    # The provider that places the call and answers its poll.
    voiceotp(PROVIDERS={"pitel": {"BACKEND": "tests.test_spend.ProviderDownTwice"}})
    call = request_code(PHONE, client_ip=ADDRESS).call
    assert lost_sends.lost == {call.pk}  # the send task is lost on its way
    for _ in range(4):  # past PENDING_GRACE, then past each retry's backoff and lease
        clock.shift(timedelta(seconds=200))
        tasks.poll_pending_calls()
    call.refresh_from_db()
    assert (call.status, call.send_attempts) == ("success", 3)
    assert ProviderDownTwice.placed == ["0771122338"]
    assert site_calls_used() == 1
    # The number's hour holds 2: the lost send used one, so one more code, and no third.
    request_code(PHONE, client_ip=ADDRESS)
    with pytest.raises(RateLimited) as refusal:
        request_code(PHONE, client_ip=ADDRESS)
    assert refusal.value.limit == "number_hour"


# -- a redial or a fallback refused ends the delivery --------------------------------------------


def test_a_refused_redial_ends_the_delivery_and_signals_once(delivering, voiceotp, clock, signals):
    voiceotp(SENDS_PER_HOUR=1)
    verification = request_code(PHONE, client_ip=ADDRESS)
    deliver_everything(clock)
    call = verification.call
    call.refresh_from_db()
    assert (call.status, call.failure_reason, call.otp) == (
        "failed",
        limits.SPENDING_LIMIT_REASON,
        "",
    )
    assert Call.objects.count() == 1  # no redial row
    assert calls_placed(delivering) == 1
    assert fallback_senders.handed == []  # the delivery ended: no fallback either
    assert signals.names(call.pk) == [
        ("changed", "pending", "sent"),
        ("changed", "sent", "failed"),
        ("failed", limits.SPENDING_LIMIT_REASON),
    ]
    failed = [kwargs for name, pk, kwargs in signals.events if name == "failed"]
    assert [kwargs["redial"] for kwargs in failed] == [None]


def test_a_refused_fallback_ends_the_delivery_and_signals_once(
    delivering, voiceotp, clock, signals
):
    voiceotp(REDIAL_MAX=0, FALLBACKS_PER_HOUR=1)
    first = request_code(unanswered(1), client_ip=ADDRESS).call
    second = request_code(unanswered(2), client_ip=ADDRESS).call
    deliver_everything(clock)
    first.refresh_from_db()
    second.refresh_from_db()
    assert [pk for phone, otp, pk in fallback_senders.handed] == [first.pk]
    assert (first.fallback_status, first.failure_reason) == ("sent", "NOANWSER")
    assert (second.status, second.fallback_status, second.failure_reason, second.otp) == (
        "failed",
        "",
        limits.SPENDING_LIMIT_REASON,
        "",
    )
    assert signals.names(second.pk) == [
        ("changed", "pending", "sent"),
        ("changed", "sent", "failed"),
        ("failed", limits.SPENDING_LIMIT_REASON),
    ]


def test_redials_are_counted_against_the_client_of_the_code(delivering, voiceotp, clock):
    voiceotp(SENDS_PER_IP_PER_HOUR=3, FALLBACK_SENDER=None)
    request_code(unanswered(1), client_ip=ADDRESS)
    deliver_everything(clock)  # call and redial: two of the address's three
    assert calls_placed(delivering) == 2
    request_code(unanswered(2), client_ip=ADDRESS)  # the third
    with pytest.raises(RateLimited) as refusal:
        request_code(unanswered(3), client_ip=ADDRESS)
    assert refusal.value.limit == "ip_hour"


def test_without_its_record_a_redial_counts_against_the_verifications_client(
    delivering, voiceotp, clock
):
    voiceotp(SENDS_PER_IP_PER_HOUR=1, FALLBACK_SENDER=None)
    call = request_code(PHONE, client_ip=ADDRESS).call
    limits.counters.limits_cache().delete(limits.payers._payer_key(call.pk))  # a cache that forgot
    deliver_everything(clock)
    call.refresh_from_db()
    assert call.failure_reason == limits.SPENDING_LIMIT_REASON
    assert calls_placed(delivering) == 1


def test_the_redials_of_a_call_placed_by_send_otp_alone_count_against_the_number(
    delivering, voiceotp, clock
):
    """send_otp called by the host's own code places its first call unguarded (docs/limits.rst);
    what follows it is counted against the number and the site all the same."""
    voiceotp(SENDS_PER_NUMBER_PER_HOUR=2, FALLBACK_SENDER=None)
    send_otp(PHONE, OTP)
    send_otp(PHONE, OTP)
    send_otp(PHONE, OTP)
    deliver_everything(clock)
    assert calls_placed(delivering) == 3 + 2  # three first calls; two of their three redials
    ended = Call.objects.filter(failure_reason=limits.SPENDING_LIMIT_REASON)
    assert [call.attempt for call in ended] == [1]


def test_calling_again_is_counted(voiceotp, clock, enqueued):
    voiceotp(SENDS_PER_HOUR=2)
    call = request_code(PHONE, client_ip=ADDRESS).call
    again = sending.call_again(call)
    with pytest.raises(CallAgainRefused, match="a spending limit was reached"):
        sending.call_again(again)
    again.refresh_from_db()
    assert again.status == "pending"  # not replaced: it stays the call to place
    assert Call.objects.count() == 2


# -- the owner's share of a number's day ---------------------------------------------------------


@pytest.fixture
def a_day_of_four(voiceotp, clock):
    voiceotp(
        RESEND_COOLDOWN=0,
        SENDS_PER_NUMBER_PER_HOUR=None,
        SENDS_PER_NUMBER_PER_DAY=4,
        SENDS_RESERVED_FOR_OWNER_PER_DAY=2,
    )


def admitted(owner: bool, client_ip: str = ADDRESS) -> str:
    try:
        with limits.admit(PHONE, client_ip=client_ip, owner=owner):
            return "sent"
    except RateLimited as err:
        return err.limit


def test_strangers_cannot_spend_the_owners_share(a_day_of_four):
    strangers = [admitted(owner=False, client_ip=f"198.51.100.{i}") for i in range(1, 6)]
    assert strangers == ["sent", "sent", "number_day", "number_day", "number_day"]
    assert [admitted(owner=True) for _ in range(3)] == ["sent", "sent", "number_day"]
    assert limits.retry_after(PHONE) == (13 * 60 + 45) * 60


def test_the_owner_may_use_the_whole_day_first(a_day_of_four):
    assert [admitted(owner=True) for _ in range(4)] == ["sent"] * 4
    assert admitted(owner=False) == "number_day"


def test_the_redial_of_an_owners_code_counts_as_the_owners(delivering, a_day_of_four, voiceotp):
    voiceotp(FALLBACK_SENDER=None)
    assert [admitted(owner=False, client_ip=f"198.51.100.{i}") for i in (1, 2)] == ["sent"] * 2

    with limits.admit(PHONE, client_ip=ADDRESS, owner=True) as number:
        owners = send_otp(number, OTP)
    call_command("voiceotp_poll", stdout=open("/dev/null", "w"))  # noqa: SIM115
    owners.refresh_from_db()
    assert owners.failure_reason == "NOANWSER"
    assert Call.objects.filter(redial_of=owners).exists()  # the owner's share paid for it


def test_the_redial_of_a_strangers_code_cannot_use_the_owners_share(
    delivering, a_day_of_four, voiceotp
):
    voiceotp(FALLBACK_SENDER=None)
    assert admitted(owner=False, client_ip="198.51.100.1") == "sent"
    with limits.admit(PHONE, client_ip=ADDRESS, owner=False) as number:
        strangers = send_otp(number, OTP)
    call_command("voiceotp_poll", stdout=open("/dev/null", "w"))  # noqa: SIM115
    strangers.refresh_from_db()
    assert strangers.failure_reason == limits.SPENDING_LIMIT_REASON
    assert not Call.objects.filter(redial_of=strangers).exists()


# -- the site's budget ---------------------------------------------------------------------------


def test_the_site_budget_refuses_codes_with_retry_after(voiceotp, clock, enqueued):
    voiceotp(SENDS_PER_HOUR=3)
    for index in range(3):
        client = APIClient(REMOTE_ADDR=f"198.51.100.{index + 1}")
        assert post(client, unanswered(index)).status_code == 201
    response = post(APIClient(REMOTE_ADDR="198.51.100.9"), unanswered(9))
    assert response.status_code == 429
    assert response.headers["Retry-After"] == str(HOUR_LEFT)
    with pytest.raises(RateLimited) as refusal:
        request_code(unanswered(10))
    assert (refusal.value.limit, refusal.value.retry_after) == ("site_hour", HOUR_LEFT)
    assert Call.objects.count() == 3
    clock.shift(HOUR_LEFT)
    request_code(unanswered(10))  # a new hour


def test_the_budget_reached_over_http_is_logged_once(voiceotp, clock, enqueued, caplog):
    """The throttle refuses early, without counting: the send that used the last unit logs."""
    voiceotp(SENDS_PER_HOUR=2)
    for index in range(2):
        assert (
            post(APIClient(REMOTE_ADDR=f"198.51.100.{index + 1}"), unanswered(index)).status_code
            == 201
        )
    for index in range(2, 6):
        response = post(APIClient(REMOTE_ADDR=f"198.51.100.{index + 1}"), unanswered(index))
        assert (response.status_code, response.headers["Retry-After"]) == (429, str(HOUR_LEFT))
    assert len(budget_errors(caplog)) == 1


def test_the_site_budget_per_day(voiceotp, clock, enqueued):
    voiceotp(SENDS_PER_DAY=2)
    request_code(unanswered(1))
    request_code(unanswered(2))
    with pytest.raises(RateLimited) as refusal:
        request_code(unanswered(3))
    assert (refusal.value.limit, refusal.value.retry_after) == ("site_day", (13 * 60 + 45) * 60)


def test_reaching_the_site_budget_logs_one_error_per_window(voiceotp, clock, enqueued, caplog):
    voiceotp(SENDS_PER_HOUR=1)
    before = REGISTRY.get_sample_value("voiceotp_site_budget_reached_total", {"limit": "site_hour"})
    request_code(unanswered(0))
    for index in range(1, 6):
        with pytest.raises(RateLimited):
            request_code(unanswered(index), client_ip=f"198.51.100.{index}")
    assert len(budget_errors(caplog)) == 1
    assert "site_hour" in budget_errors(caplog)[0]
    after = REGISTRY.get_sample_value("voiceotp_site_budget_reached_total", {"limit": "site_hour"})
    assert after - (before or 0) == 1
    refusals = REGISTRY.get_sample_value("voiceotp_limit_refusals_total", {"limit": "site_hour"})
    assert refusals >= 5

    clock.shift(HOUR_LEFT)  # the next window: one more error when it is reached again
    request_code(unanswered(10))
    with pytest.raises(RateLimited):
        request_code(unanswered(11))
    assert len(budget_errors(caplog)) == 2


def test_the_budget_counts_redials_and_not_fallbacks(delivering, voiceotp, clock):
    voiceotp(SENDS_PER_HOUR=2)
    request_code(PHONE, client_ip=ADDRESS)
    deliver_everything(clock)  # the call, its redial, then the fallback message
    assert calls_placed(delivering) == 2
    assert len(fallback_senders.handed) == 1
    with pytest.raises(RateLimited) as refusal:
        request_code(unanswered(1))
    assert refusal.value.limit == "site_hour"


def test_the_site_budget_off(voiceotp, clock, enqueued):
    voiceotp(
        RESEND_COOLDOWN=0,
        SENDS_PER_NUMBER_PER_HOUR=0,
        SENDS_PER_NUMBER_PER_DAY=0,
        SENDS_PER_IP_PER_HOUR=0,
        SENDS_PER_HOUR=0,
        SENDS_PER_DAY=None,
    )
    for _ in range(30):
        request_code(PHONE)
    assert Call.objects.count() == 30


# -- the kill switch -----------------------------------------------------------------------------


def test_sending_paused_refuses_every_code(voiceotp, clock, enqueued):
    voiceotp(SENDING_PAUSED=True)
    with pytest.raises(RateLimited) as refusal:
        request_code(PHONE, client_ip=ADDRESS)
    assert (refusal.value.limit, refusal.value.retry_after) == ("paused", 600)
    response = post(APIClient(REMOTE_ADDR=ADDRESS), PHONE)
    assert (response.status_code, response.headers["Retry-After"]) == (429, "600")
    assert Call.objects.count() == 0
    voiceotp(SENDING_PAUSED=False)
    request_code(PHONE)


def test_a_paused_site_places_no_call_already_waiting(delivering, voiceotp, clock, signals):
    call = send_otp(PHONE, OTP)  # stored, then placed: refused when it comes to be sent
    call.refresh_from_db()
    assert call.status == "sent"
    limits.pause_sending()
    with pytest.raises(RateLimited):  # a code asked for now is refused
        request_code(unanswered(1))
    deliver_everything(clock)  # the first call is not reached: its redial is refused
    assert calls_placed(delivering) == 1
    assert fallback_senders.handed == []
    call.refresh_from_db()
    assert call.failure_reason == limits.SENDING_PAUSED_REASON
    assert signals.names(call.pk) == [
        ("changed", "pending", "sent"),
        ("changed", "sent", "failed"),
        ("failed", limits.SENDING_PAUSED_REASON),
    ]

    limits.resume_sending()
    request_code(unanswered(1))
    assert calls_placed(delivering) == 2


def test_a_call_pending_when_sending_is_paused_fails_unsent(voiceotp, sandbox, signals):
    voiceotp(SENDING_PAUSED=True)
    call = send_otp(PHONE, OTP)
    call.refresh_from_db()
    assert (call.status, call.failure_reason, call.otp) == (
        "failed",
        limits.SENDING_PAUSED_REASON,
        "",
    )
    assert calls_placed(sandbox) == 0
    assert signals.names(call.pk) == [
        ("changed", "pending", "failed"),
        ("failed", limits.SENDING_PAUSED_REASON),
    ]


def test_the_pause_switch_holds_in_every_process(clock, enqueued):
    """Kept in the limits cache, shared by every process: no deploy, no restart."""
    limits.pause_sending()
    assert limits.sending_paused()
    assert limits.retry_after(client_ip=ADDRESS) == limits.PAUSED_RETRY_AFTER
    with pytest.raises(RateLimited):
        request_code(PHONE)
    limits.resume_sending()
    assert not limits.sending_paused()
    request_code(PHONE)


# -- the settings' checks ------------------------------------------------------------------------


def check_ids(voiceotp, **values) -> list[str]:
    from django_voiceotp.checks import check_spending_settings

    voiceotp(**values)
    return [message.id for message in check_spending_settings()]


@pytest.mark.parametrize("value", [-1, 1.5, "100", True, [], {"a": 1}, object()])
@pytest.mark.parametrize(
    "key", ["SENDS_PER_HOUR", "FALLBACKS_PER_HOUR", "SENDS_RESERVED_FOR_OWNER_PER_DAY"]
)
def test_malformed_spending_limits_are_errors(voiceotp, key, value):
    assert check_ids(voiceotp, **{key: value}) == ["django_voiceotp.E006"]


def test_the_spending_checks(voiceotp, settings):
    assert check_ids(voiceotp) == []
    assert check_ids(voiceotp, SENDING_PAUSED="yes") == ["django_voiceotp.E006"]
    assert check_ids(voiceotp, SENDING_PAUSED=True) == ["django_voiceotp.W036"]
    assert check_ids(voiceotp, SENDING_PAUSED=False, SENDS_PER_HOUR=0, SENDS_PER_DAY=None) == [
        "django_voiceotp.W035"
    ]
    assert check_ids(
        voiceotp, SENDS_PER_DAY=100, SENDS_PER_NUMBER_PER_DAY=3, SENDS_RESERVED_FOR_OWNER_PER_DAY=3
    ) == ["django_voiceotp.W037"]
    settings.VOICEOTP = "not a dict"  # check_settings reports it; this one survives it
    from django_voiceotp.checks import check_spending_settings

    assert check_spending_settings() == []


# -- the page that states the bounds -------------------------------------------------------------


def test_the_limits_page_is_valid_and_names_every_limit():
    from pathlib import Path

    import docutils.core
    import docutils.nodes

    page = (Path(__file__).resolve().parent.parent / "docs" / "limits.rst").read_text()
    doctree = docutils.core.publish_doctree(
        page, settings_overrides={"report_level": 5, "halt_level": 5}
    )
    assert [node.astext() for node in doctree.findall(docutils.nodes.system_message)] == []
    named = [
        "RESEND_COOLDOWN",
        "SENDS_PER_IP_PER_HOUR",
        "SENDS_PER_NUMBER_PER_HOUR",
        "SENDS_PER_NUMBER_PER_DAY",
        "SENDS_RESERVED_FOR_OWNER_PER_DAY",
        "SENDS_PER_HOUR",
        "SENDS_PER_DAY",
        "FALLBACKS_PER_HOUR",
        "SENDING_PAUSED",
        "REDIAL_MAX",
        "SEND_MAX_RETRIES",
    ]
    assert [name for name in named if f"``{name}``" not in page] == []
    assert limits.SPENDING_LIMIT_REASON in page and limits.SENDING_PAUSED_REASON in page
