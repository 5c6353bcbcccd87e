"""Every system check survives any value of any setting, and answers a wrong one with an Error."""

from __future__ import annotations

import pytest
from django.core import checks
from django.core.checks.registry import registry
from django.core.management import call_command
from django.core.management.base import SystemCheckError

from django_voiceotp import checks as checks_module
from django_voiceotp.conf import SETTINGS

#: Values of the wrong type or out of range for some setting or other.
HOSTILE_VALUES = [
    None,
    "",
    "x",
    "../..",
    "\x00",
    b"bytes",
    0,
    -1,
    10**100,
    1.5,
    float("nan"),
    True,
    [],
    ["x", None],
    [[1]],
    (),
    {},
    {"x": None},
    {1: 2},
    {(): []},
    object(),
    1e308,
    float("inf"),
    "x" * 10_000,
    ["x" * 10_000],
]

#: A value no setting takes: each check must name the key in an Error.
NONSENSE = {"?": ["?"]}


#: Every setting, by name.
KEYS = [setting.name for setting in SETTINGS]


def check_functions():
    """Every check function of the checks package, as registered with Django."""
    return [
        function
        for function in registry.get_checks(include_deployment_checks=True)
        if function.__module__.startswith(f"{checks_module.__name__}.")
    ]


def run_every_check() -> list[checks.CheckMessage]:
    messages = []
    for function in check_functions():
        found = function(app_configs=None)
        assert isinstance(found, list), function.__name__
        assert all(isinstance(message, checks.CheckMessage) for message in found)
        messages += found
    return messages


@pytest.fixture(autouse=True)
def _a_test_number(voiceotp):
    # Its check reads the phone, code and destination settings too: let it run on each of them.
    voiceotp(TEST_NUMBERS={"+84 77 000 0001": "246810"})


def test_the_check_functions_are_found():
    names = {function.__name__ for function in check_functions()}
    assert {"check_settings", "check_delivery_settings", "check_test_numbers"} <= names
    # Every check the package exports is registered: none is left out of manage.py check.
    exported = {name for name in checks_module.__all__ if name.startswith("check_")}
    assert exported == names


@pytest.mark.parametrize("setting", SETTINGS, ids=KEYS)
def test_each_setting_is_checked_by_a_registered_check(setting):
    assert setting.checked_by in {function.__name__ for function in check_functions()}


@pytest.mark.parametrize("key", KEYS)
def test_no_check_raises_on_any_value_of_any_setting(key, voiceotp):
    for value in HOSTILE_VALUES:
        voiceotp(**{key: value})
        run_every_check()


@pytest.mark.parametrize("key", KEYS)
def test_a_value_of_the_wrong_type_is_a_clear_error_naming_the_setting(key, voiceotp):
    voiceotp(**{key: NONSENSE})
    errors = [message for message in run_every_check() if message.level >= checks.ERROR]
    assert any(f"['{key}']" in message.msg for message in errors), errors


@pytest.mark.parametrize("setting", SETTINGS, ids=KEYS)
def test_a_malformed_value_is_answered_with_the_check_id_its_declaration_gives(setting, voiceotp):
    voiceotp(**{setting.name: object()})  # a value no setting takes
    errors = [message for message in run_every_check() if f"['{setting.name}']" in message.msg]
    assert [message.id for message in errors] == [f"django_voiceotp.{setting.check_id}"]


@pytest.mark.parametrize("setting", SETTINGS, ids=KEYS)
def test_the_default_of_each_setting_passes_its_checks(setting, voiceotp):
    if setting.required:
        return  # no default: E002 when unset
    voiceotp(**{setting.name: setting.default})
    assert [message for message in run_every_check() if message.level >= checks.ERROR] == []


@pytest.mark.parametrize("setting", [setting for setting in SETTINGS if setting.secret])
def test_a_secret_setting_of_the_wrong_type_is_not_shown(setting, voiceotp):
    voiceotp(**{setting.name: b"s3cr3t-value"})
    messages = [message for message in run_every_check() if f"['{setting.name}']" in message.msg]
    assert messages and all("s3cr3t" not in str(message) for message in messages)


@pytest.mark.parametrize("value", ["a string", ["a", "list"], 42, 1.5, ("API_URL",), True])
def test_voiceotp_itself_of_the_wrong_type_is_one_clear_error(value, settings):
    settings.VOICEOTP = value
    messages = run_every_check()
    assert [message.id for message in messages if message.level >= checks.ERROR] == [
        "django_voiceotp.E001"
    ]


def test_voiceotp_none_reads_as_no_settings(settings):
    settings.VOICEOTP = None
    ids = {message.id for message in run_every_check()}
    assert "django_voiceotp.E002" in ids  # API_URL and SECRET_KEY are required
    assert "django_voiceotp.E001" not in ids


def test_manage_py_check_reports_a_voiceotp_that_is_not_a_dict_without_a_traceback(settings):
    settings.VOICEOTP = "API_URL=https://example.com"
    with pytest.raises(SystemCheckError, match=r"django_voiceotp\.E001.*must be a dict"):
        call_command("check")


@pytest.mark.parametrize(
    "value",
    [-1, -0.5, True, False, float("nan"), float("inf"), 1e13, 30 * 86400 + 1, "300", None],
)
def test_callback_final_grace_must_be_seconds_of_at_least_zero(value, voiceotp):
    voiceotp(CALLBACK_FINAL_GRACE=value)
    errors = [message for message in run_every_check() if message.level >= checks.ERROR]
    assert [message.id for message in errors if "CALLBACK_FINAL_GRACE" in message.msg] == [
        "django_voiceotp.E006"
    ]


@pytest.mark.parametrize("value", [0, 0.5, 300, 30 * 86400])
def test_callback_final_grace_of_zero_or_more_passes(value, voiceotp):
    voiceotp(CALLBACK_FINAL_GRACE=value)
    assert not [message for message in run_every_check() if "CALLBACK_FINAL_GRACE" in message.msg]
