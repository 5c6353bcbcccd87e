"""Settings: defaults, reload under override_settings, system checks and voiceotp_check."""

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from django_voiceotp.checks import check_settings
from django_voiceotp.conf import DEFAULTS, voiceotp_settings
from django_voiceotp.exceptions import ImproperlyConfigured


def test_defaults_apply_and_overrides_are_reread(settings):
    assert voiceotp_settings.PHONE_REGION == DEFAULTS["PHONE_REGION"] == "VN"
    settings.VOICEOTP = {**settings.VOICEOTP, "PHONE_REGION": "US"}
    assert voiceotp_settings.PHONE_REGION == "US"


def test_lists_from_json_are_read_as_tuples_and_rereads_follow_changes(settings):
    settings.VOICEOTP = {**settings.VOICEOTP, "TIMEOUT": [1.5, 4], "POLL_SCHEDULE": [5, 10]}
    assert voiceotp_settings.TIMEOUT == (1.5, 4)  # requests takes a (connect, read) tuple only
    assert voiceotp_settings.POLL_SCHEDULE == (5, 10)
    settings.VOICEOTP = {**settings.VOICEOTP, "TIMEOUT": 3}
    assert voiceotp_settings.TIMEOUT == 3
    assert voiceotp_settings.POLL_SCHEDULE == (5, 10)


def test_unknown_attribute_is_an_error():
    with pytest.raises(AttributeError):
        voiceotp_settings.NOT_A_SETTING  # noqa: B018


def test_require_names_the_key(settings):
    settings.VOICEOTP = {}
    with pytest.raises(ImproperlyConfigured, match="'SECRET_KEY'"):
        voiceotp_settings.require("SECRET_KEY")


def test_checks_pass_on_the_test_settings():
    assert check_settings() == []


def test_checks_report_missing_and_malformed_settings(settings):
    settings.VOICEOTP = {
        "API_URL": "ftp://x",
        "AUTH_SCHEME": "Token",
        "PHONE_FORMAT": "x",
        "TYPO": 1,
    }
    ids = sorted(message.id for message in check_settings())
    assert ids == [
        "django_voiceotp.E002",
        "django_voiceotp.E003",
        "django_voiceotp.E004",
        "django_voiceotp.E005",
        "django_voiceotp.W001",
    ]
    assert any("'SECRET_KEY'" in message.msg for message in check_settings())


def test_checks_report_a_non_dict(settings):
    settings.VOICEOTP = "https://provider"
    assert [message.id for message in check_settings()] == ["django_voiceotp.E001"]


@pytest.mark.django_db(transaction=True)
def test_voiceotp_check_succeeds_against_the_sandbox(sandbox, capsys):
    call_command("voiceotp_check")
    out = capsys.readouterr().out
    assert "access token obtained for user f461" in out
    assert sandbox.token_requests == 1


@pytest.mark.django_db(transaction=True)
def test_voiceotp_check_fails_on_a_bad_key(sandbox, voiceotp, capsys):
    voiceotp(SECRET_KEY="not-the-key")
    with pytest.raises(CommandError):
        call_command("voiceotp_check")
    assert "not-the-key" not in capsys.readouterr().err


def test_voiceotp_check_fails_on_missing_settings(settings):
    settings.VOICEOTP = {}
    with pytest.raises(CommandError, match="settings"):
        call_command("voiceotp_check")
