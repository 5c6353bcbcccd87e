"""The django-allauth integration's system checks, and its migrations."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command

from django_voiceotp.contrib.allauth import checks


def ids(messages) -> list[str]:
    return [message.id for message in messages]


def test_the_suites_set_up_passes():
    assert checks.check_app_order() == [] and checks.check_adapter() == []


@pytest.mark.parametrize("entry", [checks.APP, f"{checks.APP}.apps.VoiceOTPAllauthConfig"])
def test_the_app_after_allauth_is_a_warning(settings, entry):
    others = [app for app in settings.INSTALLED_APPS if app != checks.APP]
    settings.INSTALLED_APPS = [*others, entry]
    assert ids(checks.check_app_order()) == ["voiceotp_allauth.W001"]
    settings.INSTALLED_APPS = [entry, *others]
    assert ids(checks.check_app_order()) == []


@pytest.mark.parametrize(
    "adapter",
    [
        "allauth.account.adapter.DefaultAccountAdapter",
        "django_voiceotp.contrib.allauth.adapter.PhoneNumberStorageMixin",
        "django_voiceotp.contrib.allauth.adapter.waiting_time",
    ],
)
def test_an_adapter_that_places_no_calls_is_a_warning(settings, adapter):
    settings.ACCOUNT_ADAPTER = adapter
    assert ids(checks.check_adapter()) == ["voiceotp_allauth.W002"]


@pytest.mark.parametrize("adapter", ["no.such.Adapter", "", 42, None])
def test_any_value_of_account_adapter_is_survived(settings, adapter):
    settings.ACCOUNT_ADAPTER = adapter
    assert ids(checks.check_adapter()) in ([], ["voiceotp_allauth.W002"])


def test_no_adapter_setting_is_allauths_default_and_a_warning(settings):
    del settings.ACCOUNT_ADAPTER
    assert ids(checks.check_adapter()) == ["voiceotp_allauth.W002"]


@pytest.mark.django_db
def test_the_migrations_match_the_models():
    out = StringIO()
    call_command("makemigrations", "voiceotp_allauth", "--check", "--dry-run", stdout=out)
    assert "No changes detected" in out.getvalue()


def test_the_storage_without_its_app_says_what_to_do(settings):
    from django_voiceotp.contrib.allauth.adapter import (
        PhoneNumberStorageMixin,
        VoiceCallAdapterMixin,
    )
    from django_voiceotp.exceptions import ImproperlyConfigured

    settings.INSTALLED_APPS = [app for app in settings.INSTALLED_APPS if app != checks.APP]
    # The calls alone need no table: a project that keeps numbers itself uses the mixin.
    assert VoiceCallAdapterMixin().generate_phone_verification_code(user=None, phone="+84771122330")
    with pytest.raises(ImproperlyConfigured, match="add 'django_voiceotp.contrib.allauth'"):
        PhoneNumberStorageMixin().get_user_by_phone("+84771122330")
