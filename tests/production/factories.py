"""Rows the tier and the benchmarks put in the table in bulk."""

from __future__ import annotations

import uuid
from datetime import timedelta

from django.utils import timezone

from django_voiceotp.models import Call, Campaign


def sent_calls(count: int) -> list[Call]:
    """Calls the provider has accepted, awaiting their result; no poll due for an hour."""
    campaign, _ = Campaign.objects.get_or_create(campaign_id="c78af")
    now = timezone.now()
    return Call.objects.bulk_create(
        Call(
            campaign=campaign,
            phone_number=f"079{index:07d}",
            status=Call.Status.SENT,
            provider_call_id=str(uuid.uuid4()),
            sent_at=now,
            next_poll_at=now + timedelta(hours=1),
        )
        for index in range(count)
    )
