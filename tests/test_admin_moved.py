"""The admin's old import paths: each name still found there, with a warning naming its new home."""

from __future__ import annotations

import pytest

from django_voiceotp import admin as admin_package
from django_voiceotp import reports
from django_voiceotp.admin import (
    callback_events,
    calls,
    campaigns,
    chart,
    display,
    mixins,
    sending,
    statistics,
)

REPORTS_NAMES = {
    "REAL": statistics,
    "SUCCESS": statistics,
    "FAILED": statistics,
    "TEST": statistics,
    "success_rate": statistics,
    "Day": statistics,
    "_window": statistics,
    "daily_stats": statistics,
    "Conversion": statistics,
    "daily_conversion": statistics,
    "WIDTH": chart,
    "HEIGHT": chart,
    "LEFT": chart,
    "RIGHT": chart,
    "TOP": chart,
    "BOTTOM": chart,
    "MAX_DAY_LABELS": chart,
    "Bar": chart,
    "Tick": chart,
    "Chart": chart,
    "build_chart": chart,
    "_nice_ceiling": chart,
    "_count_label": chart,
    "_bar_title": chart,
}

ADMIN_NAMES = {
    "RECENT_DAYS": campaigns,
    "SUMMARY_PERIODS": campaigns,
    "DEFAULT_SUMMARY_PERIOD": campaigns,
    "VoiceOTPMedia": display,
    "short_datetime": display,
    "provider_error_text": display,
    "badge_for_test_number": display,
    "RecordAdminMixin": mixins,
    "PhoneNumberSearchMixin": mixins,
    "CallbackEventInline": callback_events,
    "payload_html": callback_events,
    "RedialFilter": calls,
    "elapsed": calls,
    "Spending": sending,
    "read_spending": sending,
    "spending_messages": sending,
}


@pytest.mark.parametrize("name", REPORTS_NAMES)
def test_each_name_of_reports_is_the_moved_one_and_warns(name):
    module = REPORTS_NAMES[name]
    message = f"django_voiceotp.reports.{name} is deprecated: use {module.__name__}.{name}."
    with pytest.warns(DeprecationWarning, match=f"^{message}$".replace(".", r"\.")):
        found = getattr(reports, name)
    assert found is getattr(module, name)


def test_a_from_import_of_reports_warns():
    with pytest.warns(DeprecationWarning, match=r"use django_voiceotp\.admin\.chart\.build_chart"):
        from django_voiceotp.reports import build_chart
    assert build_chart is chart.build_chart


@pytest.mark.parametrize("name", ADMIN_NAMES)
def test_each_helper_of_the_admin_module_is_the_moved_one_and_warns(name):
    module = ADMIN_NAMES[name]
    message = f"django_voiceotp.admin.{name} is deprecated: use {module.__name__}.{name}."
    with pytest.warns(DeprecationWarning, match=f"^{message}$".replace(".", r"\.")):
        found = getattr(admin_package, name)
    assert found is getattr(module, name)


def test_the_model_admins_are_still_in_the_package_without_a_warning(recwarn):
    from django_voiceotp.admin import (
        CallAdmin,
        CallbackEventAdmin,
        CampaignAdmin,
        VerificationAdmin,
    )

    assert CallAdmin is calls.CallAdmin
    assert CampaignAdmin is campaigns.CampaignAdmin
    assert CallbackEventAdmin is callback_events.CallbackEventAdmin
    assert VerificationAdmin.__module__ == "django_voiceotp.admin.verifications"
    assert not [w for w in recwarn if issubclass(w.category, DeprecationWarning)]


@pytest.mark.parametrize("module", [reports, admin_package], ids=["reports", "admin"])
def test_a_name_that_never_was_there_is_an_attribute_error(module):
    with pytest.raises(AttributeError, match="has no attribute 'no_such_name'"):
        module.no_such_name  # noqa: B018 -- the lookup is the test


def test_the_lists_of_moved_names_are_complete():
    # Each shim answers for the names above and for no other.
    assert set(reports.MOVED) == set(REPORTS_NAMES)
    assert set(admin_package.MOVED) == set(ADMIN_NAMES)
