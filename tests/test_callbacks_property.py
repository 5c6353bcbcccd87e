"""Property: whatever is posted to the callback door, it answers below 500, keeps a record of the
request, and stores nothing PostgreSQL would refuse (the same property runs there too)."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings

from .hostile_requests import HostileRequest, check_hostile_request, hostile_requests

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("callbacks_on")]


@given(request=hostile_requests)
@settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_any_request_is_answered_recorded_and_storable(request: HostileRequest):
    check_hostile_request(request)
