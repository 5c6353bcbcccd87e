"""The provider's call report: status spellings, start times, and values refused or kept."""

from __future__ import annotations

import warnings
from datetime import UTC, datetime, timedelta

import pytest

from django_voiceotp import client, provider_reports
from django_voiceotp.provider_reports import (
    CallOutcome,
    outcome_for_status,
    parse_provider_time,
    parse_report,
)

# -- statuses, times, values --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "outcome"),
    [
        ("Success", CallOutcome.SUCCESS),
        ("SUCCESS", CallOutcome.SUCCESS),
        ("ANSWERED", CallOutcome.SUCCESS),
        ("Fail", CallOutcome.FAILED),
        ("failed", CallOutcome.FAILED),
        ("NOANWSER", CallOutcome.FAILED),
        ("BUSY", CallOutcome.FAILED),
        ("no-answered", CallOutcome.FAILED),
        ("invalid-number", CallOutcome.FAILED),
        ("", CallOutcome.IN_PROGRESS),
        (None, CallOutcome.IN_PROGRESS),
        (" ringing ", CallOutcome.IN_PROGRESS),
    ],
)
def test_status_spellings_map_case_insensitively(raw, outcome):
    assert outcome_for_status(raw) is outcome


def test_naive_start_time_is_provider_time():
    parsed = parse_provider_time("2020-11-10 23:23:11")
    assert parsed.utcoffset() == timedelta(hours=7)
    assert parsed.astimezone(UTC) == datetime(2020, 11, 10, 16, 23, 11, tzinfo=UTC)


def test_start_time_timezone_is_a_setting(voiceotp):
    voiceotp(PROVIDER_TIMEZONE="UTC")
    assert parse_provider_time("2020-11-10 23:23:11").utcoffset() == timedelta(0)


def test_iso_start_time_keeps_its_offset():
    parsed = parse_provider_time("2020-11-10T23:23:11+00:00")
    assert parsed == datetime(2020, 11, 10, 23, 23, 11, tzinfo=UTC)


@pytest.mark.parametrize("value", ["", None, "yesterday", 12])
def test_unusable_start_time_is_unknown(value):
    assert parse_provider_time(value) is None


def test_report_repr_hides_the_keypress():
    report = parse_report({"call_id": "c", "status": "Success", "keypress": "918273"})
    assert report.keypress == "918273"
    assert "918273" not in repr(report)


@pytest.mark.parametrize(
    "data",
    [
        None,
        [],
        {"status": "Success"},
        {"call_id": "c"},
        {"call_id": "c", "status": 3},
        {"call_id": "c", "status": "Fail", "duration": "long"},
    ],
)
def test_malformed_reports_are_refused(data):
    with pytest.raises(ValueError):
        parse_report(data)


# -- the old path ------------------------------------------------------------------------------


@pytest.mark.parametrize("name", client.__all__)
def test_the_report_format_is_still_importable_from_the_client_without_a_warning(name):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        exec(f"from django_voiceotp.client import {name}", {})
    if hasattr(provider_reports, name):
        assert getattr(client, name) is getattr(provider_reports, name)


def test_the_client_knows_no_models():
    import ast
    import inspect

    for module in (client, provider_reports):
        tree = ast.parse(inspect.getsource(module))
        imported = {
            node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)
        }
        assert not {name for name in imported if name.endswith("models")}, module.__name__
