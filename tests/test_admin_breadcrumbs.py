"""The "Calls per day" page keeps the admin's breadcrumbs on each Django the app supports: 6.1
writes and styles ``ol.breadcrumbs``; 5.2 and 6.0 style only ``div.breadcrumbs``."""

from __future__ import annotations

import re
from pathlib import Path

import django.contrib.admin
import pytest
from django.urls import reverse

from django_voiceotp.models import Campaign

BASE_CSS = Path(django.contrib.admin.__file__).parent / "static" / "admin" / "css" / "base.css"


def rules(css: str, selector: str) -> str:
    """The declarations of ``selector``'s own rule in ``css`` (empty when it has none)."""
    match = re.search(rf"(?:^|\}})\s*{re.escape(selector)}\s*\{{([^}}]*)\}}", css, re.M)
    return match[1] if match else ""


@pytest.mark.django_db
def test_the_calls_per_day_breadcrumbs_are_styled_as_the_admins(admin_client):
    campaign = Campaign.objects.create(campaign_id="c78af", name="Sign-up")
    html = admin_client.get(
        reverse("admin:django_voiceotp_campaign_summary", args=[campaign.pk])
    ).content.decode()

    found = re.findall(r'<(\w+) class="breadcrumbs">(.*?)</\1>', html, re.S)
    assert len(found) == 1 and found[0][0] == "ol"
    crumbs = found[0][1]
    items = re.findall(r"<li(?: aria-current=\"page\")?>(.*?)</li>", crumbs, re.S)
    assert len(items) == 5 and "&rsaquo;" not in crumbs  # the CSS draws the separators
    assert '<li aria-current="page">Calls per day</li>' in crumbs
    assert re.findall(r'<a href="([^"]+)"', crumbs) == [
        reverse("admin:index"),
        reverse("admin:app_list", args=["django_voiceotp"]),
        reverse("admin:django_voiceotp_campaign_changelist"),
        reverse("admin:django_voiceotp_campaign_change", args=[campaign.pk]),
    ]
    # Styled as the admin's own bar, by the installed admin's stylesheet or by the page's.
    page_css = "".join(re.findall(r"<style[^>]*>(.*?)</style>", html, re.S))
    for selector in ("ol.breadcrumbs", "ol.breadcrumbs li", "ol.breadcrumbs a"):
        assert rules(BASE_CSS.read_text(), selector) or rules(page_css, selector), selector
    bar = rules(BASE_CSS.read_text(), "ol.breadcrumbs") or rules(page_css, "ol.breadcrumbs")
    assert "var(--breadcrumbs-bg)" in bar
    items_css = rules(BASE_CSS.read_text(), "ol.breadcrumbs li") or rules(
        page_css, "ol.breadcrumbs li"
    )
    assert "display: inline-block" in items_css
