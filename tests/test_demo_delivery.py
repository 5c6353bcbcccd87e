"""The demo's account of a delivery, read while the sweeper or a callback changes it."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from django_voiceotp.models import Call, Campaign, failure_reason

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "example_project"))

from demo.views import delivery_json  # noqa: E402

pytestmark = pytest.mark.django_db


def test_a_call_read_before_its_redial_existed_is_explained_as_it_ended():
    """The page's view reads the first call, then the callback fails it and creates its redial
    in one transaction, then the view looks for redials: the first call must be read again."""
    campaign = Campaign.objects.create(campaign_id="c78af")
    first = Call.objects.create(campaign=campaign, phone_number="0771122338", status="sent")
    read_by_the_view = Call.objects.get(pk=first.pk)
    Call.objects.filter(pk=first.pk).update(
        status=Call.Status.FAILED,
        failure_code=Call.FailureCode.NOT_REACHED,
        failure_reason=failure_reason(Call.FailureCode.NOT_REACHED, "NOANWSER"),
    )
    redial = Call.objects.create(
        campaign=campaign, phone_number="0771122338", redial_of=first, attempt=2
    )

    delivery = delivery_json(read_by_the_view)

    assert [attempt["id"] for attempt in delivery["attempts"]] == [first.pk, redial.pk]
    assert delivery["attempts"][0]["status"] == "failed"
    assert delivery["redial_in"] == 0
    assert delivery["explanation"] == "Nobody answered. We call you again now."
