"""The callback door's hostile cases on PostgreSQL, which refuses what SQLite lets through.

The same expectations as ``tests/test_callbacks_hostile.py`` (from ``tests/hostile_cases.py``),
plus what only PostgreSQL showed: a year-1 ``start_time`` stored, after which the call, the lists
and ``GET verifications/<id>/`` raised ``DataError``.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.urls import reverse
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from rest_framework.test import APIClient

from django_voiceotp import callbacks
from django_voiceotp.callback_urls import callback_token_for
from django_voiceotp.models import CallbackEvent, Verification

from ..hostile_cases import (
    KEYPRESS,
    SECRET_BODIES,
    VALID_TOKEN_CASES,
    Verdict,
    assert_storable_everywhere,
    encoded,
    make_call,
    post,
    report,
    run_valid_token_case,
    stored_text,
)
from ..hostile_requests import HostileRequest, check_hostile_request, hostile_requests

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("callbacks_on")]


def test_this_runs_on_postgresql():
    assert connection.vendor == "postgresql"


def pages_of(call) -> list[str]:
    """Every page that showed the call or its events, and broke on a value PostgreSQL refused."""
    verification = Verification.objects.create(
        phone_number=call.phone_number,
        code_hash="x",
        call=call,
        expires_at=timezone.now() + timedelta(minutes=5),
    )
    pages = [
        reverse("admin:django_voiceotp_call_changelist"),
        reverse("admin:django_voiceotp_call_change", args=[call.pk]),
        reverse("admin:django_voiceotp_callbackevent_changelist"),
        reverse("admin:django_voiceotp_verification_changelist"),
    ]
    pages += [
        reverse("admin:django_voiceotp_callbackevent_change", args=[pk])
        for pk in CallbackEvent.objects.values_list("pk", flat=True)
    ]
    return [*pages, reverse("django_voiceotp:verification-detail", args=[verification.pk])]


@pytest.mark.parametrize("case", VALID_TOKEN_CASES, ids=lambda case: case.id)
def test_valid_token_case(case, admin_client):
    call, _ = run_valid_token_case(case)
    for page in pages_of(call):
        response = admin_client.get(page)
        assert response.status_code == 200, page
        assert KEYPRESS not in response.content.decode(), page


@pytest.mark.parametrize(
    "body",
    [b"[" * 3000 + b"]" * 3000, b'{"status": NaN}', b'{"a": "\\u0000\\ud800"}', b"a=b\x00"],
    ids=["deep", "nan", "nul-and-surrogate", "nul-byte"],
)
def test_forged_token_keeps_the_facts_and_a_prefix(body):
    response = post(None, body, REMOTE_ADDR="203.0.113.9")
    assert response.status_code == 403
    event = CallbackEvent.objects.get()
    assert (event.call, event.verdict, event.body_size) == (None, Verdict.BAD_TOKEN, len(body))
    assert len(event.raw_body) <= 256
    assert_storable_everywhere(event)


def test_a_forged_flood_from_one_address_costs_one_event():
    body = encoded({"call_id": "x", "status": "Success", "padding": "x" * 16000})
    for _ in range(100):
        assert post(None, body, REMOTE_ADDR="203.0.113.9").status_code == 403
    event = CallbackEvent.objects.get()
    assert (event.count, len(event.raw_body)) == (100, 256)


@pytest.mark.parametrize("forged", [False, True], ids=["valid-token", "forged-token"])
@pytest.mark.parametrize(
    ("body", "content_type"),
    [(body, content_type) for _, body, content_type in SECRET_BODIES],
    ids=[name for name, _, _ in SECRET_BODIES],
)
def test_no_passcode_is_stored_in_any_shape(body, content_type, forged):
    call = make_call()
    response = post(None if forged else call, body, content_type or "application/json")
    assert response.status_code < 500
    assert KEYPRESS not in stored_text(CallbackEvent.objects.get())


def test_a_stored_lone_surrogate_is_refused_here_so_the_storage_step_replaces_it():
    # Why the storage step exists: the driver cannot even send it.
    call = make_call()
    with pytest.raises(UnicodeEncodeError), transaction.atomic():
        CallbackEvent.objects.create(call=call, verdict="applied", raw_body="\ud800")
    response = post(call, encoded(report(user_id="\ud800")))
    assert response.status_code == 200
    assert CallbackEvent.objects.get().payload["user_id"] == "\ufffd"


def test_an_early_callback_with_a_long_call_id_keeps_the_call_usable():
    call = make_call(status="pending", provider_call_id=None)
    response = APIClient().post(
        reverse("django_voiceotp:callback", kwargs={"token": callback_token_for(call)}),
        encoded(report(call_id="a" * 300)),
        content_type="application/json",
    )
    assert response.status_code == 400
    call.refresh_from_db()
    assert (call.status, call.provider_call_id) == ("pending", None)


# -- rejections at bounded cost, on the index ---------------------------------------------------


def fill_rejections(count: int, *, within: timedelta) -> None:
    """``count`` runs without a call, each from a network of its own, begun within ``within``."""
    now = timezone.now()
    CallbackEvent.objects.bulk_create(
        (
            CallbackEvent(
                verdict=Verdict.BAD_TOKEN,
                reason="bad_token",
                remote_addr=f"10.{i // 65536}.{i // 256 % 256}.{i % 256}",
                remote_network=f"10.{i // 65536}.{i // 256 % 256}.{i % 256}",
                body_size=2,
                raw_body="{}",
                received_at=now - within * (i / count),
            )
            for i in range(count)
        ),
        batch_size=5000,
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE django_voiceotp_callbackevent")


def test_the_look_up_of_a_run_reads_its_index_among_100000_rows_of_the_hour():
    # What cost 33 ms a request: every rejected row of the hour, scanned for one address.
    fill_rejections(100_000, within=timedelta(minutes=59))
    since = timezone.now() - callbacks.REJECTION_WINDOW
    run = callbacks.run_of(Verdict.BAD_TOKEN, None, "2001:db8:1:2::/64", since)
    plan = run.values_list("pk", flat=True)[:1].explain()
    assert "voiceotp_event_rejection_idx" in plan and "Seq Scan" not in plan, plan
    assert "Sort" not in plan, plan  # read latest first, in index order


def test_the_hours_cap_reads_its_index_among_100000_older_rows():
    fill_rejections(100_000, within=timedelta(days=30))
    since = timezone.now() - callbacks.REJECTION_WINDOW
    plan = callbacks.rejected_runs_started(since).explain()
    assert "voiceotp_event_rejected_at_idx" in plan and "Seq Scan" not in plan, plan


def test_rotating_addresses_and_the_cap_cost_bounded_rows(monkeypatch):
    monkeypatch.setattr(callbacks.rejections, "REJECTED_ROWS_PER_HOUR", 3)
    for host in range(1, 21):  # one /64
        assert post(None, b"{}", REMOTE_ADDR=f"2001:db8:1:2::{host:x}").status_code == 403
    for host in range(1, 21):  # twenty IPv4 clients
        assert post(None, b"{}", REMOTE_ADDR=f"198.51.100.{host}").status_code == 403
    runs = CallbackEvent.objects.order_by("pk").values_list("remote_network", "count")
    assert list(runs) == [
        ("2001:db8:1:2::/64", 20),
        ("198.51.100.1", 1),
        ("198.51.100.2", 1),
        ("*", 18),
    ]


@pytest.mark.parametrize("subject", ["unknown", "", "unix:/run/gunicorn.sock", "x" * 300])
def test_a_client_that_is_not_an_address_is_stored_as_unknown(monkeypatch, subject):
    # inet refuses anything but an address: whatever client_ip names, only an address is stored.
    monkeypatch.setattr("django_voiceotp.callbacks.views.client_ip", lambda request: subject)
    call = make_call()
    assert post(call, encoded(report())).status_code == 200
    assert post(None, b"{}").status_code == 403
    stored = CallbackEvent.objects.values_list("remote_addr", "remote_network")
    assert set(stored) == {(None, "")}


def test_repeats_after_the_result_cost_one_event():
    call = make_call()
    assert post(call, encoded(report())).json()["verdict"] == Verdict.APPLIED
    padded = encoded(report(padding="x" * 16000))
    for _ in range(50):
        assert post(call, padded).json()["verdict"] == Verdict.DUPLICATE
    runs = CallbackEvent.objects.filter(call=call).order_by("pk")
    assert [(e.verdict, e.count, e.raw_body) for e in runs] == [
        ("applied", 1, ""),
        ("duplicate", 50, ""),
    ]


@given(request=hostile_requests)
@settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_any_request_is_answered_recorded_and_storable(request: HostileRequest):
    check_hostile_request(request)
