"""System checks on values, callback URLs and Celery; what voiceotp_check prints and its exit."""

from __future__ import annotations

import importlib.machinery
import re
import subprocess
import sys
import types
from pathlib import Path

import pytest
from celery import Celery, current_app
from celery._state import get_current_app
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test import override_settings

from django_voiceotp.checks import (
    check_callback_urls,
    check_celery,
    check_delivery_settings,
    check_dispatcher,
    check_setting_values,
    check_sqlite_transaction_mode,
)
from django_voiceotp.conf import voiceotp_settings
from django_voiceotp.dispatch.base import BaseDispatcher
from tests.test_dispatch_django import DUMMY, IMMEDIATE

SWEEPER = {"voiceotp-sweeper": {"task": "django_voiceotp.tasks.poll_pending_calls", "schedule": 15}}


def ids(messages):
    return sorted(message.id for message in messages)


@pytest.fixture
def celery_conf():
    """The Celery app's configuration, restored after the test."""
    conf = current_app.conf
    saved = (conf.task_always_eager, conf.beat_schedule)
    yield conf
    conf.task_always_eager, conf.beat_schedule = saved


def test_values_of_the_test_settings_pass():
    assert check_setting_values() == []


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("CALLBACK_BASE_URL", "example.com"),
        ("CALLBACK_BASE_URL", "ftp://example.com"),
        ("CALLBACK_BASE_URL", "  "),
        ("OTP_MIN_LENGTH", 0),
        ("OTP_MAX_LENGTH", "8"),
        ("SEND_MAX_RETRIES", -1),
        ("CALLBACK_MAX_BODY_SIZE", True),
        ("OTP_MAX_AGE", 0),
        ("PENDING_GRACE", "60"),
        ("TIMEOUT", (5, 15, 20)),
        ("TIMEOUT", -1),
        ("POLL_SCHEDULE", (30, 15)),
        ("POLL_SCHEDULE", ()),
        ("PROVIDER_TIMEZONE", "Asia/Saigon City"),
        ("TOKEN_CACHE_ALIAS", "nowhere"),
        ("CALLBACK_TOKEN_MAX_AGE", 0),
        ("CALLBACK_TOKEN_MAX_AGE", "1 day"),
    ],
)
def test_malformed_values_are_errors_naming_the_key(voiceotp, key, value):
    voiceotp(**{key: value})
    messages = check_setting_values()
    assert ids(messages) == ["django_voiceotp.E006"]
    assert f"[{key!r}]" in messages[0].msg


def test_min_length_above_max_length_is_an_error(voiceotp):
    voiceotp(OTP_MIN_LENGTH=8, OTP_MAX_LENGTH=6)
    assert "at most OTP_MAX_LENGTH" in check_setting_values()[0].msg


def test_good_values_pass(voiceotp):
    voiceotp(
        CALLBACK_BASE_URL="https://example.com",
        TIMEOUT=10,
        POLL_SCHEDULE=[5, 10.5],
        CALLBACK_TOKEN_MAX_AGE=3600,
    )
    assert check_setting_values() == []


def test_callback_urls_are_needed_only_with_a_callback_base_url(voiceotp):
    assert check_callback_urls() == []
    voiceotp(CALLBACK_BASE_URL="https://example.com")
    assert check_callback_urls() == []
    with override_settings(ROOT_URLCONF="tests.urls_without_callbacks"):
        assert ids(check_callback_urls()) == ["django_voiceotp.E007"]


def test_eager_mode_is_a_warning_only_without_debug(celery_conf, settings):
    celery_conf.beat_schedule = SWEEPER
    celery_conf.task_always_eager = True
    settings.DEBUG = False
    assert ids(check_celery()) == ["django_voiceotp.W002"]
    settings.DEBUG = True
    assert check_celery() == []
    celery_conf.task_always_eager = False
    settings.DEBUG = False
    assert check_celery() == []


def test_a_missing_sweeper_is_reported_as_info(celery_conf, settings):
    settings.DEBUG = True
    celery_conf.beat_schedule = {}
    messages = check_celery()
    assert ids(messages) == ["django_voiceotp.I001"]
    assert not messages[0].is_serious()


@pytest.fixture
def unconfigured_celery():
    """A Celery app in use that never read Django's settings, as when celery.py is not imported."""
    previous = get_current_app()
    app = Celery("unconfigured")
    app.set_current()
    yield app
    previous.set_current()


def test_an_app_not_configured_from_django_is_one_warning(unconfigured_celery, settings):
    # The test settings say eager and DEBUG off, and schedule no sweeper: W002 and I001 would be
    # about settings this app does not read, so only the cause is reported.
    settings.DEBUG = False
    messages = check_celery()
    assert ids(messages) == ["django_voiceotp.W003"]
    assert "'unconfigured'" in messages[0].msg
    assert 'config_from_object("django.conf:settings", namespace="CELERY")' in messages[0].hint


def test_the_checks_read_the_app_configured_from_django(celery_conf, settings):
    # The suite's app (tests/celery_app.py) reads CELERY_* from the settings, like a celery.py.
    settings.DEBUG = True
    celery_conf.beat_schedule = SWEEPER
    assert check_celery() == []


def test_check_without_the_celery_app_imported_names_the_cause():
    # tests.settings never imports tests/celery_app.py: Celery's fallback app is the one in use.
    result = subprocess.run(
        [sys.executable, "-m", "django", "check", "--settings=tests.settings"],
        cwd=Path(__file__).resolve().parent.parent,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": "."},
        capture_output=True,
        text=True,
        timeout=60,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "django_voiceotp.W003" in output and "'default'" in output
    assert "django_voiceotp.I001" not in output


def sqlite_options(monkeypatch, options):
    monkeypatch.setitem(connection.settings_dict, "OPTIONS", options)


def test_the_test_settings_take_the_write_lock_first():
    assert connection.vendor == "sqlite"
    assert check_sqlite_transaction_mode() == []


@pytest.mark.parametrize("options", [{}, {"timeout": 20}, {"transaction_mode": "DEFERRED"}])
def test_sqlite_with_deferred_transactions_is_reported_as_info(monkeypatch, options):
    sqlite_options(monkeypatch, options)
    messages = check_sqlite_transaction_mode()
    assert ids(messages) == ["django_voiceotp.I002"]
    assert not messages[0].is_serious()
    assert "DATABASES['default'] is SQLite with deferred transactions" in messages[0].msg
    assert messages[0].hint == (
        'Add "OPTIONS": {"transaction_mode": "IMMEDIATE"} to this DATABASES entry.'
    )


@pytest.mark.parametrize("mode", ["IMMEDIATE", "immediate", "EXCLUSIVE"])
def test_sqlite_taking_the_write_lock_first_passes(monkeypatch, mode):
    sqlite_options(monkeypatch, {"transaction_mode": mode})
    assert check_sqlite_transaction_mode() == []


def test_other_databases_are_not_concerned(monkeypatch):
    sqlite_options(monkeypatch, {})
    monkeypatch.setattr(connection, "vendor", "postgresql")
    assert check_sqlite_transaction_mode() == []


# -- voiceotp_check ------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_voiceotp_check_prints_what_it_checked(sandbox, callbacks_to, celery_conf, capsys):
    celery_conf.beat_schedule = SWEEPER
    call_command("voiceotp_check")
    out = capsys.readouterr().out
    assert f"✓ settings: API_URL is {callbacks_to}/sandbox/" in out
    assert "✓ campaign: c78af" in out
    assert f"✓ callbacks: the provider posts results to {callbacks_to}/voiceotp/callbacks/" in out
    assert "✓ Celery: eager" in out and "sweeper every 15 s" in out
    assert "✓ provider: access token obtained for user f461" in out
    assert "30511f666" not in out  # the secret key is never printed


def test_voiceotp_check_shows_warnings_and_fails_on_errors(voiceotp, celery_conf, capsys):
    celery_conf.beat_schedule = {}
    voiceotp(CALLBACK_BASE_URL="example.com")
    with pytest.raises(CommandError, match="settings have errors"):
        call_command("voiceotp_check")
    captured = capsys.readouterr()
    assert "✗ django_voiceotp.E006: VOICEOTP['CALLBACK_BASE_URL'] must be" in captured.err
    assert "i django_voiceotp.I001: No periodic sweeper" in captured.out


@pytest.mark.django_db(transaction=True)
def test_voiceotp_check_says_when_celery_ignores_the_settings(sandbox, unconfigured_celery, capsys):
    call_command("voiceotp_check")
    out = capsys.readouterr().out
    assert "! django_voiceotp.W003: The Celery app in use ('unconfigured')" in out
    assert "! Celery: the app in use ('unconfigured') is not configured from Django" in out
    assert "✓ Celery" not in out


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("backend", "says"),
    [
        (IMMEDIATE, "inline (jobs run in the process"),
        (DUMMY, "worker"),
    ],
    ids=["immediate", "worker"],
)
def test_voiceotp_check_describes_the_queue_when_it_is_not_celery(
    sandbox, voiceotp, settings, unconfigured_celery, capsys, backend, says
):
    """With Django's tasks framework, Celery's configuration does not matter: not reported."""
    settings.TASKS = {"default": {"BACKEND": backend}}
    voiceotp(DISPATCHER="django")
    call_command("voiceotp_check")
    out = capsys.readouterr().out
    assert f"✓ queue: Django's tasks framework, {says}" in out
    assert "voiceotp_sweep --every" in out
    assert "Celery" not in out


def test_voiceotp_check_exits_non_zero_when_the_provider_is_unreachable():
    # The test settings point at sandbox.invalid, a name that never resolves.
    result = subprocess.run(
        [sys.executable, "-m", "django", "voiceotp_check", "--settings=tests.settings"],
        cwd=Path(__file__).resolve().parent.parent,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": "."},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert "✓ settings: API_URL is http://sandbox.invalid/sandbox/" in result.stdout
    assert "✗ provider: Could not reach the provider" in result.stderr
    assert "System check identified" not in result.stdout + result.stderr  # reported once


def test_delivery_settings_of_the_test_settings_pass():
    assert check_delivery_settings() == []


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("REDIAL_MAX", -1),
        ("REDIAL_MAX", "1"),
        ("REDIAL_MAX", True),
        ("REDIAL_DELAY", -5),
        ("REDIAL_DELAY", "20"),
        ("REDIAL_STATUSES", "BUSY"),
        ("REDIAL_STATUSES", ["BUSY", 3]),
        ("FALLBACK_SENDER", 42),
        ("FALLBACK_SENDER", "django_voiceotp.senders.CONSOLE_SENDER"),
    ],
)
def test_malformed_delivery_settings_are_errors(voiceotp, key, value):
    voiceotp(**{key: value})
    assert ids(check_delivery_settings()) == ["django_voiceotp.E006"]


def test_a_fallback_sender_that_cannot_be_imported_is_an_error(voiceotp):
    voiceotp(FALLBACK_SENDER="myproject.sms.no_such_sender")
    assert ids(check_delivery_settings()) == ["django_voiceotp.E020"]


def test_the_console_sender_with_debug_off_is_a_warning(voiceotp, settings):
    voiceotp(FALLBACK_SENDER="django_voiceotp.senders.console_sender")
    settings.DEBUG = False
    assert ids(check_delivery_settings()) == ["django_voiceotp.W020"]
    settings.DEBUG = True
    assert check_delivery_settings() == []
    voiceotp(FALLBACK_SENDER="tests.fallback_senders.record", REDIAL_MAX=2, REDIAL_STATUSES=["x"])
    settings.DEBUG = False
    assert check_delivery_settings() == []


# -- SQLite's options on another engine; CALLBACK_BASE_URL in production -------------------------


def databases_with(engine: str, options) -> dict:
    return {"default": {"ENGINE": engine, "NAME": "mysite", "OPTIONS": options}}


@pytest.mark.parametrize(
    "options",
    [
        {"transaction_mode": "IMMEDIATE"},  # the quickstart's line, left after the move
        {"pool": {"min_size": 0, "max_size": 32}, "check_same_thread": False},
    ],
)
def test_sqlite_only_options_on_postgresql_are_an_error(options):
    from django_voiceotp.checks import check_sqlite_options_on_other_engines

    databases = databases_with("django.db.backends.postgresql", options)
    with pytest.warns(UserWarning, match="Overriding setting DATABASES"):
        with override_settings(DATABASES=databases):
            messages = check_sqlite_options_on_other_engines()
    assert ids(messages) == ["django_voiceotp.E040"]
    assert messages[0].is_serious()
    assert "DATABASES['default'] is postgresql" in messages[0].msg
    assert next(key for key in options if key != "pool") in messages[0].msg


@pytest.mark.parametrize(
    "databases",
    [
        databases_with("django.db.backends.sqlite3", {"transaction_mode": "IMMEDIATE"}),
        databases_with("django.db.backends.postgresql", {"pool": {"min_size": 0}}),
        databases_with("django.db.backends.postgresql", None),
        databases_with("django.db.backends.postgresql", "transaction_mode"),
        databases_with("no.such.backend", {"transaction_mode": "IMMEDIATE"}),
        {"default": "not a dict"},
        "not a dict",
    ],
)
def test_sqlite_options_where_they_belong_and_odd_values_pass(databases):
    from django_voiceotp.checks import check_sqlite_options_on_other_engines

    with pytest.warns(UserWarning, match="Overriding setting DATABASES"):
        with override_settings(DATABASES=databases):
            assert check_sqlite_options_on_other_engines() == []


@pytest.mark.parametrize(
    ("base_url", "says"),
    [
        ("", "is empty"),
        ("  ", "is empty"),
        ("https://www.example.com", "www.example.com, a domain reserved for documentation"),
        ("https://example.org/", "example.org, a domain reserved for documentation"),
        ("http://shop.example:8000", "shop.example, a domain reserved for documentation"),
    ],
)
def test_an_empty_or_documentation_callback_base_url_is_an_error_with_debug_off(
    voiceotp, settings, base_url, says
):
    from django_voiceotp.checks import check_callback_base_url_in_production

    voiceotp(CALLBACK_BASE_URL=base_url)
    settings.DEBUG = False
    messages = check_callback_base_url_in_production()
    assert ids(messages) == ["django_voiceotp.E041"]
    assert says in messages[0].msg
    assert "VOICEOTP_CALLBACK_BASE_URL" in messages[0].hint
    settings.DEBUG = True  # in development the sandbox's address is fine; E006 still checks it
    assert check_callback_base_url_in_production() == []


def test_an_empty_callback_base_url_is_reported_once_by_e041(voiceotp, settings):
    # An unset environment variable: polling alone in development, E041 with DEBUG off; never
    # also E006, whose hint would send the reader to a URL that E041 then refuses.
    from django_voiceotp.checks import check_callback_base_url_in_production

    voiceotp(CALLBACK_BASE_URL="")
    assert check_setting_values() == []
    settings.DEBUG = False
    messages = check_setting_values() + check_callback_base_url_in_production()
    assert ids(messages) == ["django_voiceotp.E041"]


def test_the_example_e006_suggests_passes_e041(voiceotp, settings):
    from django_voiceotp.checks import check_callback_base_url_in_production

    voiceotp(CALLBACK_BASE_URL="example.com")
    (message,) = check_setting_values()
    suggested = re.search(r"such as (\S+);", message.msg)[1]
    voiceotp(CALLBACK_BASE_URL=suggested)
    settings.DEBUG = False
    assert check_setting_values() + check_callback_base_url_in_production() == []


@pytest.mark.parametrize(
    "base_url",
    [None, "https://otp.shop.vn", "https://notexample.com", "https://example.com.vn", 5, ["x"]],
)
def test_a_real_or_absent_callback_base_url_passes_in_production(voiceotp, settings, base_url):
    from django_voiceotp.checks import check_callback_base_url_in_production

    voiceotp(CALLBACK_BASE_URL=base_url)
    settings.DEBUG = False
    assert check_callback_base_url_in_production() == []


def test_the_production_callback_check_survives_a_voiceotp_that_is_not_a_dict(settings):
    from django_voiceotp.checks import check_callback_base_url_in_production

    settings.DEBUG = False
    settings.VOICEOTP = "not a dict"
    assert check_callback_base_url_in_production() == []


# -- DISPATCHER ----------------------------------------------------------------------------------


class ADispatcher(BaseDispatcher):
    """A dispatcher class a project names by its dotted path."""


class NotADispatcher:
    """A class that is not a dispatcher."""


def not_a_class():
    """A function where a class belongs."""


@pytest.fixture
def django_tasks_installed(monkeypatch):
    """The django-tasks backport, as an installed package (Django 5.2 has no django.tasks)."""
    module = types.ModuleType("django_tasks")
    module.__spec__ = importlib.machinery.ModuleSpec("django_tasks", None)
    monkeypatch.setitem(sys.modules, "django_tasks", module)


@pytest.fixture
def django_tasks_missing(monkeypatch):
    """Neither Django's tasks framework nor its backport can be imported."""
    for name in ("django.tasks", "django_tasks"):
        monkeypatch.setitem(sys.modules, name, None)


@pytest.mark.parametrize(
    "value",
    [
        "celery",
        "django",
        "tests.test_checks.ADispatcher",
        "django_voiceotp.dispatch.recording.RecordingDispatcher",
    ],
)
def test_dispatcher_values_that_pass(voiceotp, django_tasks_installed, value):
    voiceotp(DISPATCHER=value)
    assert check_dispatcher() == []


def test_the_default_dispatcher_is_celery_and_passes():
    assert voiceotp_settings.DISPATCHER == "celery"
    assert check_dispatcher() == []


@pytest.mark.parametrize(
    ("value", "said"),
    [
        (None, "must be"),
        ("", "must be"),
        ("rabbitmq", "must be"),
        ("..relative.Dispatcher", "must be"),
        (42, "must be"),
        (["celery"], "must be"),
        ("no_such_package.Dispatcher", "cannot be imported: No module named 'no_such_package'"),
        ("tests.test_checks.NoSuchDispatcher", "cannot be imported"),
        (
            "tests.test_checks.not_a_class",
            "BaseDispatcher; 'tests.test_checks.not_a_class' is a function",
        ),
        ("tests.test_checks.NotADispatcher", "is the class NotADispatcher."),
        ("tests.test_checks", "BaseDispatcher; 'tests.test_checks' is a module"),
    ],
)
def test_each_malformed_dispatcher_is_an_error(voiceotp, value, said):
    voiceotp(DISPATCHER=value)
    [error] = check_dispatcher()
    assert error.id == "django_voiceotp.E050"
    assert "['DISPATCHER']" in error.msg and said in error.msg
    if said != "must be":  # a dotted path that does not lead to a class: what to write instead
        assert '"celery", "django", or the dotted path of a dispatcher class' in error.hint


def test_the_django_dispatcher_needs_django_tasks(voiceotp, django_tasks_missing):
    voiceotp(DISPATCHER="django")
    [error] = check_dispatcher()
    assert error.id == "django_voiceotp.E050"
    assert "django.tasks" in error.msg and "django_tasks" in error.msg
    assert "pip install django-tasks" in error.hint


def test_a_dispatcher_module_that_fails_as_it_is_imported_is_an_error(
    voiceotp, monkeypatch, tmp_path
):
    (tmp_path / "broken_dispatcher.py").write_text('raise RuntimeError("fails on import")\n')
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "broken_dispatcher", raising=False)
    voiceotp(DISPATCHER="broken_dispatcher.Dispatcher")
    [error] = check_dispatcher()
    assert error.id == "django_voiceotp.E050" and "cannot be imported" in error.msg


def test_celery_is_not_checked_when_the_work_goes_elsewhere(
    voiceotp, celery_conf, settings, django_tasks_installed
):
    settings.DEBUG = False
    celery_conf.task_always_eager = True
    celery_conf.beat_schedule = {}
    assert ids(check_celery()) == ["django_voiceotp.I001", "django_voiceotp.W002"]
    voiceotp(DISPATCHER="django")
    assert check_celery() == []
