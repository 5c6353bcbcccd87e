"""Schemathesis against the app in this process: the verification API keeps to openapi.yaml.

A bounded run of the examples Schemathesis makes from the document, every check on, so CI keeps
``make schemathesis`` (the full run against the example project, docs/development.rst) true.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import pytest
import schemathesis
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, settings

CONFIG = Path(__file__).resolve().parent.parent / "schemathesis.toml"
DOCUMENT = resources.files("django_voiceotp").joinpath("openapi.yaml")

schema = schemathesis.openapi.from_path(
    str(DOCUMENT), config=schemathesis.Config.from_path(str(CONFIG))
)
schema.app = WSGIHandler()


@pytest.fixture(autouse=True)
def _connection_kept():
    """As Django's test client does: a request must not close the test's database connection
    (its transaction holds what the test made)."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture(autouse=True)
def _limits_off(settings):
    """Limits off, so generated requests reach validation and the views, not only the 429."""
    settings.VOICEOTP = {
        **settings.VOICEOTP,
        "RESEND_COOLDOWN": 0,
        "SENDS_PER_NUMBER_PER_HOUR": 0,
        "SENDS_PER_NUMBER_PER_DAY": 0,
        "SENDS_PER_IP_PER_HOUR": 0,
    }


@pytest.mark.django_db
@schema.parametrize()
@settings(max_examples=20, deadline=None, suppress_health_check=list(HealthCheck))
def test_the_api_keeps_to_its_document(case):
    case.call_and_validate(base_url="http://testserver/voiceotp")
