"""The demo's account of a delivery, read while a callback fails its call and creates the redial."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from django_voiceotp.models import Call, Campaign, failure_reason

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "example_project"))

from demo.views import delivery_calls, delivery_json  # noqa: E402

pytestmark = pytest.mark.django_db

UNANSWERED = "0771122338"


@pytest.fixture
def first():
    campaign = Campaign.objects.create(campaign_id="c78af")
    return Call.objects.create(campaign=campaign, phone_number=UNANSWERED, status="sent")


def fail_and_redial(call: Call) -> Call:
    """What the callback's transaction writes: the call failed, and its redial."""
    Call.objects.filter(pk=call.pk).update(
        status=Call.Status.FAILED,
        failure_code=Call.FailureCode.NOT_REACHED,
        failure_reason=failure_reason(Call.FailureCode.NOT_REACHED, "NOANWSER"),
    )
    return Call.objects.create(
        campaign=call.campaign,
        phone_number=call.phone_number,
        redial_of=call,
        attempt=2,
        created_at=call.created_at,
    )


def test_a_call_read_before_its_redial_existed_is_explained_as_it_ended(first):
    """The status view read the first call, then the callback failed it and created its redial:
    the page explains the redial by how the first call ended."""
    read_by_the_view = Call.objects.get(pk=first.pk)
    redial = fail_and_redial(first)

    delivery = delivery_json(read_by_the_view)

    assert [attempt["id"] for attempt in delivery["attempts"]] == [first.pk, redial.pk]
    assert delivery["attempts"][0]["status"] == "failed"
    assert delivery["redial_in"] == 0
    assert delivery["explanation"] == "Nobody answered. We call you again now."


def test_a_delivery_is_read_in_one_statement(first, django_assert_num_queries):
    """Reads apart could see the failure without its redial ("Ask for a new call" while the
    server is about to call again) or the redial beside a call not yet failed."""
    redial = fail_and_redial(first)
    second_redial = fail_and_redial(redial)
    other_delivery = Call.objects.create(campaign=first.campaign, phone_number=UNANSWERED)

    with django_assert_num_queries(1):
        calls = delivery_calls(first)

    assert [call.pk for call in calls] == [first.pk, redial.pk, second_redial.pk]
    assert other_delivery.pk not in [call.pk for call in calls]
