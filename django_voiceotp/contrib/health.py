"""Checks for django-health-check: the provider, the sweeper, the backlog of pending calls, the
site's budget, the providers' circuit breakers.

.. code-block:: python

    # settings.py: django-health-check's page is a template of its own, found only with its app
    INSTALLED_APPS += ["health_check"]

    # urls.py
    from health_check.views import HealthCheckView

    path("health/voiceotp/", HealthCheckView.as_view(checks=[
        "django_voiceotp.contrib.health.Provider",
        "django_voiceotp.contrib.health.Sweeper",
        "django_voiceotp.contrib.health.Backlog",
        "django_voiceotp.contrib.health.Spending",
        "django_voiceotp.contrib.health.Breakers",
    ])),

Each reports one finding of :mod:`django_voiceotp.health`, as ``voiceotp_check`` does.
docs/integrations/health.rst has the whole recipe.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connections
from health_check.base import HealthCheck
from health_check.exceptions import ServiceUnavailable, ServiceWarning

from .. import health


@contextmanager
def _closing_connections() -> Iterator[None]:
    """Close the database connections opened inside the block.

    django-health-check runs a check in a worker thread: a connection opened there is outside the
    request cycle, where nothing (``request_finished``) closes it, so each probe left one open.
    """
    open_before = {
        connection.alias
        for connection in connections.all(initialized_only=True)
        if connection.connection is not None
    }
    try:
        yield
    finally:
        for connection in connections.all(initialized_only=True):
            if connection.alias not in open_before:
                connection.close()


def _report(finding: health.Finding) -> None:
    if finding.status == health.FAILED:
        raise ServiceUnavailable(finding.detail)
    if finding.status == health.WARNING:
        raise ServiceWarning(finding.detail)


@dataclasses.dataclass
class Provider(HealthCheck):
    """The provider answers with the cached access token (asked at most every 30 s)."""

    def run(self) -> None:
        with _closing_connections():
            finding = health.check_provider()
        _report(finding)


@dataclasses.dataclass
class Sweeper(HealthCheck):
    """The sweeper ran within ``SWEEPER_MAX_AGE`` seconds (a warning when no run is on record)."""

    def run(self) -> None:
        with _closing_connections():
            finding = health.check_sweeper()
        _report(finding)


@dataclasses.dataclass
class Backlog(HealthCheck):
    """No call is pending past ``PENDING_GRACE``: the workers and the sweeper keep up."""

    def run(self) -> None:
        with _closing_connections():
            finding = health.check_backlog()
        _report(finding)


@dataclasses.dataclass
class Spending(HealthCheck):
    """The site's budget is not used up (unavailable when it is: codes are refused); a warning
    while sending is paused."""

    def run(self) -> None:
        with _closing_connections():
            finding = health.check_spending()
        _report(finding)


@dataclasses.dataclass
class Breakers(HealthCheck):
    """No provider's circuit breaker is open (a warning while one is: its calls go to the next
    provider of ``FAILOVER``)."""

    def run(self) -> None:
        _report(health.check_breakers())
