"""The "Calls per day" page keeps the admin's breadcrumbs on each Django the app supports (5.2
styles ``div.breadcrumbs``, 6 ``ol.breadcrumbs``; neither styles the other's)."""

from __future__ import annotations

import re
from pathlib import Path

import django.contrib.admin
import pytest
from django.urls import reverse

from django_voiceotp.models import Campaign

BASE_CSS = Path(django.contrib.admin.__file__).parent / "static" / "admin" / "css" / "base.css"
CRUMBS = re.compile(r'<(\w+) class="breadcrumbs">(.*?)</\1>', re.S)


@pytest.mark.django_db
def test_the_calls_per_day_breadcrumbs_are_the_ones_the_admin_styles(admin_client):
    campaign = Campaign.objects.create(campaign_id="c78af", name="Sign-up")
    summary = admin_client.get(
        reverse("admin:django_voiceotp_campaign_summary", args=[campaign.pk])
    )
    change_url = reverse("admin:django_voiceotp_campaign_change", args=[campaign.pk])
    admins_own = CRUMBS.search(admin_client.get(change_url).content.decode())

    found = CRUMBS.findall(summary.content.decode())
    assert len(found) == 1
    tag, crumbs = found[0]
    # The element the admin's own pages use, and one its stylesheet styles.
    assert tag == admins_own[1]
    assert re.search(rf"^{tag}\.breadcrumbs \{{", BASE_CSS.read_text(), re.M)
    assert re.findall(r'<a href="([^"]+)"', crumbs) == [
        reverse("admin:index"),
        reverse("admin:app_list", args=["django_voiceotp"]),
        reverse("admin:django_voiceotp_campaign_changelist"),
        change_url,
    ]
    if tag == "ol":
        # One item per step, the separators drawn by the admin's CSS; the page itself is current.
        items = re.findall(r"<li(?: aria-current=\"page\")?>(.*?)</li>", crumbs, re.S)
        assert len(items) == 5 and "&rsaquo;" not in crumbs
        assert '<li aria-current="page">Calls per day</li>' in crumbs
    else:
        assert crumbs.count("&rsaquo;") == 4
        assert crumbs.rstrip().endswith("&rsaquo; Calls per day")
