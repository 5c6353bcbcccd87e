"""The Verification admin: read-only, masked numbers, and neither the code nor its hash."""

from __future__ import annotations

import pytest
from django.urls import reverse

from django_voiceotp import request_code
from django_voiceotp import verification as verification_module
from django_voiceotp.models import Verification

pytestmark = pytest.mark.django_db

CODE = "739164"
VERIFICATIONS = reverse("admin:django_voiceotp_verification_changelist")


@pytest.fixture
def verification(monkeypatch):
    monkeypatch.setattr(verification_module, "generate_code", lambda length=None: CODE)
    return request_code("0771122330", client_ip="203.0.113.7")


def change_url(verification):
    return reverse("admin:django_voiceotp_verification_change", args=[verification.pk])


def test_the_list_masks_numbers_and_shows_no_secret(admin_client, verification):
    page = admin_client.get(VERIFICATIONS).content.decode()
    assert "077****330" in page and "0771122330" not in page
    assert "203.0.113.7" in page
    assert verification.code_hash not in page and CODE not in page


def test_the_page_is_read_only_and_shows_no_secret(admin_client, verification):
    response = admin_client.get(change_url(verification))
    page = response.content.decode()
    assert response.status_code == 200
    assert verification.code_hash not in page and CODE not in page
    assert "code_hash" not in page and 'name="_save"' not in page
    assert reverse("admin:django_voiceotp_call_change", args=[verification.call_id]) in page
    before = Verification.objects.values().get()
    response = admin_client.post(change_url(verification), {"state": "verified", "attempts": 0})
    assert response.status_code == 403
    assert Verification.objects.values().get() == before
    add = reverse("admin:django_voiceotp_verification_add")
    assert admin_client.get(add).status_code == 403


@pytest.mark.parametrize("term", ["+84 77 112 2330", "0771122330", "112233", "203.0.113.7"])
def test_search_by_phone_in_any_spelling_or_client_ip(admin_client, verification, term):
    request_code("0901234567")
    page = admin_client.get(VERIFICATIONS, {"q": term}).content.decode()
    assert "077****330" in page and "090****567" not in page


def test_voiceotp_purge_deletes_old_verifications(monkeypatch, time_machine):
    from datetime import timedelta
    from io import StringIO

    from django.core.management import call_command
    from django.utils import timezone

    monkeypatch.setattr(verification_module, "generate_code", lambda length=None: CODE)
    time_machine.move_to(timezone.now() - timedelta(days=40), tick=False)
    for number in ("0901234561", "0901234562", "0901234563"):
        request_code(number)
    time_machine.move_to(timezone.now() + timedelta(days=40), tick=False)
    recent = request_code("0771122330")

    out = StringIO()
    call_command("voiceotp_purge", "--older-than", "30", "--dry-run", stdout=out)
    assert "Would delete 3 verification(s) older than 30 day(s)." in out.getvalue()
    assert Verification.objects.count() == 4

    call_command("voiceotp_purge", "--older-than", "30", "--batch-size", "2", stdout=out)
    assert "Deleted 3 verification(s) older than 30 day(s)." in out.getvalue()
    assert list(Verification.objects.all()) == [recent]


def test_expired_codes_say_so(admin_client, verification, time_machine):
    from datetime import timedelta

    from django.utils import timezone

    cell = '<td class="field-state_display">{}</td>'
    assert cell.format("pending") in admin_client.get(VERIFICATIONS).content.decode()
    time_machine.move_to(timezone.now() + timedelta(seconds=301), tick=False)
    page = admin_client.get(VERIFICATIONS).content.decode()
    assert cell.format("expired") in page and cell.format("pending") not in page


def test_a_pending_code_whose_call_failed_says_so(admin_client, verification):
    from django_voiceotp.models import Call

    Call.objects.filter(pk=verification.call_id).update(status=Call.Status.FAILED)
    page = admin_client.get(VERIFICATIONS).content.decode()
    assert '<td class="field-state_display">call failed</td>' in page
    assert f">Call {verification.call_id}</a>" in page  # the call, short enough to fit the list
    detail = admin_client.get(change_url(verification)).content.decode()
    assert "call failed" in detail and ">pending<" not in detail


def test_the_page_is_titled_as_a_view(admin_client, verification):
    page = admin_client.get(change_url(verification)).content.decode()
    assert "<h1>View verification</h1>" in page
