"""Campaigns by their provider id: read, or made on first use."""

from __future__ import annotations

from .claims import read_campaign
from .models import Campaign
from .providers import default_provider_name


def campaign_for(campaign_id: str, provider: str | None = None) -> Campaign:
    """The campaign ``campaign_id``; made, for ``provider`` (the default provider for None), when
    no call has used it yet."""
    campaign = read_campaign(campaign_id)
    if campaign is None:
        # get_or_create: another process may create it between our read and this insert.
        campaign, _ = Campaign.objects.get_or_create(
            campaign_id=campaign_id,
            defaults={"name": campaign_id, "provider": provider or default_provider_name()},
        )
    return campaign
