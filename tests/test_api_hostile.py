"""The verification API under hostile and odd requests, on SQLite (cases: api_hostile_cases)."""

from __future__ import annotations

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from django_voiceotp.models import Verification

from .api_hostile_cases import *  # noqa: F403

#: What a server hands the app when it cannot see the client: gunicorn on a UNIX socket sets
#: REMOTE_ADDR to "" (or, in some set-ups, the socket's path); a broken proxy, anything at all.
UNKNOWN_ADDRESSES = ("", "unix:/run/gunicorn.sock", "garbage")


@pytest.mark.django_db
def test_clients_of_unknown_address_share_one_limit(voiceotp, clock):
    """N2: 25 requests from unknown addresses against a per-address limit of 20: the 21st is
    refused. Each asks for another number, so only the per-client limit can refuse."""
    voiceotp(SENDS_PER_IP_PER_HOUR=20)
    statuses = []
    for index in range(25):
        client = APIClient(REMOTE_ADDR=UNKNOWN_ADDRESSES[index % len(UNKNOWN_ADDRESSES)])
        response = client.post(
            reverse("django_voiceotp:verification-list"),
            {"phone_number": f"09012345{index:02d}"},
            format="json",
        )
        statuses.append(response.status_code)
    assert statuses == [201] * 20 + [429] * 5
    assert response.headers["Retry-After"] == str(45 * 60)  # the clock hour's end
    assert Verification.objects.count() == 20
    assert set(Verification.objects.values_list("client_ip", flat=True)) == {None}
