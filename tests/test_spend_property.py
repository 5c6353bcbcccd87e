"""For any sequence of requests from any clients (unknown ones too), with redials and the fallback
on, what is spent stays within the bounds docs/limits.rst states.

The provider is an in-process fake that reports every call as not answered (or, for some numbers,
answered): the worst case for spending, fast enough for many examples. Every example runs within
one clock hour and one UTC day, so each bound is one window's.
"""

from __future__ import annotations

import itertools
import time
from collections import Counter
from datetime import timedelta

import pytest
from django.core.cache import cache
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from django_voiceotp import delivery, limits, results, send_otp, tasks
from django_voiceotp.exceptions import RateLimited
from django_voiceotp.models import Call
from django_voiceotp.provider_reports import CallOutcome, CallReport
from django_voiceotp.providers.base import BaseProvider, StartedCall
from django_voiceotp.providers.pitel import NOT_REACHED_STATUSES

from . import fallback_senders
from .conftest import QUARTER_PAST_TEN

pytestmark = pytest.mark.django_db(transaction=True)

#: Small limits, so that sequences of a dozen requests reach every one of them.
LIMITS = {
    "RESEND_COOLDOWN": 30,
    "SENDS_PER_IP_PER_HOUR": 5,
    "SENDS_PER_NUMBER_PER_HOUR": 4,
    "SENDS_PER_NUMBER_PER_DAY": 5,
    "SENDS_RESERVED_FOR_OWNER_PER_DAY": 2,
    "SENDS_PER_HOUR": 9,
    "SENDS_PER_DAY": 50,
    "FALLBACKS_PER_HOUR": 3,
    "REDIAL_MAX": 2,
    "REDIAL_DELAY": 20,
    "FALLBACK_SENDER": "tests.fallback_senders.record",
}
NUMBERS = ("0771122338", "0771122348", "0771122358", "0771122361")
ANSWERED = {"0771122361"}  # the others are never reached: every redial and the fallback follow
CLIENTS = (None, "unknown", "", "203.0.113.1", "203.0.113.2", "2001:db8:1:2::1", "2001:db8:1:2::9")


class FakeProvider(BaseProvider):
    """Places calls instantly and reports them final; records each call placed."""

    not_reached_statuses = NOT_REACHED_STATUSES  # it speaks Pitel's statuses

    placed: list[str] = []
    numbers: dict[str, str] = {}
    ids = itertools.count(1)

    def start_call(self, campaign_id, phone_number, otp, callback_url=None):
        call_id = f"fake-{next(self.ids)}"
        self.placed.append(call_id)
        self.numbers[call_id] = str(phone_number)
        return StartedCall(call_id=call_id, campaign_id=campaign_id)

    def get_report(self, call_id):
        answered = self.numbers[call_id] in ANSWERED
        return CallReport(
            call_id=call_id,
            outcome=CallOutcome.SUCCESS if answered else CallOutcome.FAILED,
            raw_status="Success" if answered else "NOANWSER",
        )


@pytest.fixture
def fake_provider(voiceotp):
    # The provider that places the calls and answers the polls.
    voiceotp(PROVIDERS={"pitel": {"BACKEND": "tests.test_spend_property.FakeProvider"}})
    return FakeProvider


def deliver_everything(clock) -> None:
    """Every result known, every redial due and placed, every fallback run."""
    for _ in range(LIMITS["REDIAL_MAX"] + 2):
        for call_id in Call.objects.filter(status=Call.Status.SENT).values_list("pk", flat=True):
            results.poll_call(call_id, force=True)
        clock.shift(timedelta(seconds=LIMITS["REDIAL_DELAY"] + 1))
        tasks.poll_pending_calls()


requests = st.lists(
    st.tuples(
        st.sampled_from(NUMBERS),
        st.sampled_from(CLIENTS),
        st.booleans(),  # recognised as the number's owner
        st.sampled_from([0, 5, 31, 61]),  # seconds before the request
        st.booleans(),  # whether the deliveries so far run to their end first
    ),
    max_size=14,
)


@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(requests=requests)
def test_what_is_spent_never_exceeds_the_documented_bound(requests, fake_provider, voiceotp, clock):
    voiceotp(**LIMITS)
    clock.move_to(QUARTER_PAST_TEN, tick=False)
    cache.clear()
    Call.objects.all().delete()
    fake_provider.placed.clear()
    fake_provider.numbers.clear()
    fallback_senders.reset()

    payers: dict[int, limits.Payer] = {}  # the first call of each code admitted: who asked
    for number, client_ip, owner, wait, settle in requests:
        clock.shift(timedelta(seconds=wait))
        if settle:
            deliver_everything(clock)
        try:
            with limits.admit(number, client_ip=client_ip, owner=owner) as allowed:
                call = send_otp(allowed, "482915")
        except RateLimited:
            continue
        payers[call.pk] = limits.Payer(client_ip, owner)
    deliver_everything(clock)
    assert time.time() < QUARTER_PAST_TEN.timestamp() + 44 * 60  # one window for every bound

    placed = Call.objects.filter(provider_call_id__in=fake_provider.placed)
    fallbacks = Call.objects.filter(fallback_status=Call.FallbackStatus.SENT)
    assert placed.count() == len(fake_provider.placed)  # each call placed once
    assert len(fallback_senders.handed) == fallbacks.count()

    def first_of(call: Call) -> int:
        while call.redial_of_id is not None:
            call = Call.objects.get(pk=call.redial_of_id)
        return call.pk

    spending = [("call", call) for call in placed] + [("fallback", call) for call in fallbacks]
    per_code: Counter = Counter()
    per_number: Counter = Counter()
    per_client: Counter = Counter()
    by_strangers: Counter = Counter()
    for kind, call in spending:
        payer = payers[first_of(call)]
        per_code[(first_of(call), kind)] += 1
        per_number[call.phone_number] += 1
        if payer.client_ip is not None:
            per_client[limits.ip_subject(payer.client_ip)] += 1
        if not payer.owner:
            by_strangers[call.phone_number] += 1

    # What one code may cost: 1 + REDIAL_MAX calls and one fallback message.
    assert all(
        count <= (1 + LIMITS["REDIAL_MAX"] if kind == "call" else 1)
        for (_code, kind), count in per_code.items()
    )
    # The site's budget, for calls and for fallback messages.
    assert len(fake_provider.placed) <= LIMITS["SENDS_PER_HOUR"]
    assert fallbacks.count() <= LIMITS["FALLBACKS_PER_HOUR"]
    # One number: calls and messages together, its owner's share out of strangers' reach.
    day = LIMITS["SENDS_PER_NUMBER_PER_DAY"]
    assert all(
        count <= min(LIMITS["SENDS_PER_NUMBER_PER_HOUR"], day) for count in per_number.values()
    )
    stranger_share = day - LIMITS["SENDS_RESERVED_FOR_OWNER_PER_DAY"]
    assert all(count <= stranger_share for count in by_strangers.values())
    # One client (an IPv6 /64, or a shared subject for unknown clients): calls and messages.
    assert all(count <= LIMITS["SENDS_PER_IP_PER_HOUR"] for count in per_client.values())
    # Every delivery ended: nothing left pending to be placed later.
    assert not Call.objects.filter(status=Call.Status.PENDING).exists()
    assert not delivery.fallbacks_due(now=None)
