"""How the admin's pages write a value: dates, provider errors, the test-number mark, the style."""

from __future__ import annotations

from django.utils import formats, timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _


class VoiceOTPMedia:
    css = {"all": ("django_voiceotp/admin.css",)}


def short_datetime(moment):
    """A date and time in the list columns: the language's short format, local time, wrappable.

    Django's long format ("Dec. 2, 2026, 1:17 a.m.") kept on one line made the lists wider than
    the page. ``None`` lets the admin write its empty-cell marker.
    """
    if moment is None:
        return None
    local = timezone.localtime(moment)
    return format_html(
        '<time datetime="{}">{}</time>',
        moment.isoformat(),
        formats.date_format(local, "SHORT_DATETIME_FORMAT"),
    )


def provider_error_text(text: str) -> str:
    """A provider error as a sentence: its message ends in a full stop before "; HTTP 404"."""
    return text.replace(".; ", "; ")


def badge_for_test_number():
    """The mark beside a call or a verification of a test number (TEST_NUMBERS)."""
    return format_html('<span class="voiceotp-badge voiceotp-test">{}</span>', _("test"))
