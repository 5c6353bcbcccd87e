"""The callback door under hostile and odd input: an answer below 500 and a record, every time."""

from __future__ import annotations

import json
import logging
from datetime import timedelta

import pytest
from django.db import DatabaseError, DataError, OperationalError, connection
from django.urls import reverse
from django.utils import timezone, translation
from rest_framework.test import APIClient

from django_voiceotp import sending
from django_voiceotp.callbacks import door
from django_voiceotp.conf import DEFAULTS
from django_voiceotp.exceptions import ImproperlyConfigured, ProviderRejected
from django_voiceotp.models import Call, CallbackEvent
from django_voiceotp.providers.base import StartedCall
from django_voiceotp.sealing import seal_otp

from .hostile_cases import (
    FORGED_TOKEN,
    KEYPRESS,
    PROVIDER_CALL_ID,
    SECRET_BODIES,
    VALID_TOKEN_CASES,
    Reason,
    Verdict,
    assert_storable_everywhere,
    callback_path,
    encoded,
    make_call,
    post,
    report,
    run_valid_token_case,
    stored_text,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("callbacks_on")]


def admin_pages_render(admin_client, call: Call | None = None) -> None:
    """The event list, every event's page and the call's page answer 200."""
    pages = [reverse("admin:django_voiceotp_callbackevent_changelist")]
    pages += [
        reverse("admin:django_voiceotp_callbackevent_change", args=[pk])
        for pk in CallbackEvent.objects.values_list("pk", flat=True)
    ]
    if call is not None:
        pages += [
            reverse("admin:django_voiceotp_call_changelist"),
            reverse("admin:django_voiceotp_call_change", args=[call.pk]),
        ]
    for page in pages:
        response = admin_client.get(page)
        assert response.status_code == 200, page
        assert KEYPRESS not in response.content.decode(), page


# -- a valid token: one event per request, whatever the body --------------------------------------


@pytest.mark.parametrize("case", VALID_TOKEN_CASES, ids=lambda case: case.id)
def test_valid_token_case(case, admin_client):
    call, _ = run_valid_token_case(case)
    admin_pages_render(admin_client, call)


def test_a_chunked_body_is_refused_unread_with_a_record():
    call = make_call()
    response = post(call, encoded(report()), HTTP_TRANSFER_ENCODING="chunked")
    assert response.status_code == 411
    assert "Content-Length" in response.json()["detail"]
    event = CallbackEvent.objects.get()
    assert (event.call, event.payload, event.raw_body) == (call, None, "")


def test_every_oversized_request_with_a_valid_token_has_its_own_event(voiceotp):
    voiceotp(CALLBACK_MAX_BODY_SIZE=100)
    call = make_call()
    body = encoded(report(padding="x" * 200))
    for _ in range(2):
        assert post(call, body).status_code == 413
    events = CallbackEvent.objects.filter(call=call)
    assert [(e.verdict, e.count, e.body_size) for e in events] == [("too_large", 1, len(body))] * 2


def test_a_body_above_djangos_own_limit_is_too_large(settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 50
    call = make_call()
    assert post(call, encoded(report())).status_code == 413
    assert CallbackEvent.objects.get().verdict == Verdict.TOO_LARGE


def test_a_remote_address_that_is_not_one_is_stored_as_unknown():
    call = make_call()
    response = post(call, encoded(report()), REMOTE_ADDR="unix:/run/gunicorn.sock")
    assert response.status_code == 200
    assert CallbackEvent.objects.get().remote_addr is None


def test_what_the_database_refuses_is_recorded_as_unstorable_and_not_applied(monkeypatch, signals):
    call = make_call()
    real_insert = door.insert_event

    def refuse_payloads(event):
        if event.payload is not None:
            raise DataError("value refused")
        return real_insert(event)

    # Where the door stores a call's event (callbacks.events.insert_event).
    monkeypatch.setattr(door, "insert_event", refuse_payloads)
    response = post(call, encoded(report()))
    assert response.status_code == 400
    assert response.json()["verdict"] == Verdict.MALFORMED
    event = CallbackEvent.objects.get()
    assert (event.call, event.reason, event.payload) == (call, Reason.UNSTORABLE, None)
    call.refresh_from_db()
    assert call.status == "sent"  # rolled back with the event: polling will find the result
    assert signals.names(call.pk) == []


def test_other_methods_answer_json_whatever_accept_says():
    call = make_call()
    response = post(call, b"", HTTP_ACCEPT="text/html")
    assert response.status_code == 400
    response = APIClient().get(callback_path(call), HTTP_ACCEPT="text/html")
    assert (response.status_code, response["Content-Type"]) == (405, "application/json")


# -- without a valid token: facts, a prefix, one event per address and verdict ------------------


@pytest.mark.parametrize(
    "body",
    [
        b"[" * 3000 + b"]" * 3000,
        b'{"status": NaN}',
        b'{"a": "\\u0000\\ud800"}',
        b"hello=world\x00",
        b"\xff" * 300,
    ],
    ids=["deep", "nan", "nul-and-surrogate", "nul-byte", "not-utf8"],
)
def test_forged_token_keeps_the_facts_and_a_prefix(body):
    response = post(None, body, REMOTE_ADDR="203.0.113.9")
    assert response.status_code == 403
    assert response.json()["verdict"] == Verdict.BAD_TOKEN
    event = CallbackEvent.objects.get()
    assert (event.call, event.verdict, event.reason) == (None, Verdict.BAD_TOKEN, Reason.BAD_TOKEN)
    assert (event.remote_addr, event.body_size, event.count) == ("203.0.113.9", len(body), 1)
    assert event.payload is None and len(event.raw_body) <= 256
    assert_storable_everywhere(event)


def test_a_forged_flood_from_one_address_costs_one_event():
    body = encoded({"call_id": "x", "status": "Success", "padding": "x" * 16000})
    for _ in range(300):
        assert post(None, body, REMOTE_ADDR="203.0.113.9").status_code == 403
    event = CallbackEvent.objects.get()
    assert (event.count, event.body_size, len(event.raw_body)) == (300, len(body), 256)
    assert event.last_received_at >= event.received_at
    with connection.cursor() as cursor:
        cursor.execute("SELECT SUM(LENGTH(raw_body)) FROM django_voiceotp_callbackevent")
        assert cursor.fetchone()[0] == 256


def test_rejections_are_counted_per_address_and_verdict_and_window(time_machine, voiceotp):
    time_machine.move_to(timezone.now(), tick=False)
    voiceotp(CALLBACK_MAX_BODY_SIZE=100)
    small, large = b"{}", encoded({"padding": "x" * 200})
    post(None, small, REMOTE_ADDR="203.0.113.9")
    post(None, small, REMOTE_ADDR="203.0.113.9")
    post(None, small, REMOTE_ADDR="2001:db8::1")
    post(None, large, REMOTE_ADDR="203.0.113.9")
    post(None, large, REMOTE_ADDR="203.0.113.9")
    time_machine.shift(timedelta(hours=1, seconds=1))
    post(None, small, REMOTE_ADDR="203.0.113.9")
    counts = CallbackEvent.objects.order_by("pk").values_list("remote_addr", "verdict", "count")
    assert list(counts) == [
        ("203.0.113.9", "bad_token", 2),
        ("2001:db8::1", "bad_token", 1),
        ("203.0.113.9", "too_large", 2),
        ("203.0.113.9", "bad_token", 1),
    ]


def test_a_forged_chunked_request_is_counted_too():
    post(None, b"{}", HTTP_TRANSFER_ENCODING="chunked")
    post(None, b"{}", HTTP_TRANSFER_ENCODING="chunked")
    event = CallbackEvent.objects.get()
    assert (event.verdict, event.reason, event.count) == (
        Verdict.MALFORMED,
        Reason.LENGTH_REQUIRED,
        2,
    )


# -- redaction at storage, in every shape ------------------------------------------------------


@pytest.mark.parametrize("forged", [False, True], ids=["valid-token", "forged-token"])
@pytest.mark.parametrize(
    ("body", "content_type"),
    [(body, content_type) for _, body, content_type in SECRET_BODIES],
    ids=[name for name, _, _ in SECRET_BODIES],
)
def test_no_passcode_is_stored_in_any_shape(body, content_type, forged, admin_client):
    call = make_call()
    response = post(None if forged else call, body, content_type or "application/json")
    assert response.status_code < 500
    event = CallbackEvent.objects.get()
    assert KEYPRESS not in stored_text(event)
    assert "[redacted]" in stored_text(event)
    admin_pages_render(admin_client, call)


# -- the admin renders any stored event -----------------------------------------------------------


def test_the_admin_renders_a_stored_lone_surrogate(admin_client):
    # Stored by an older version (SQLite keeps what json.dumps escapes); shown replaced.
    call = make_call()
    CallbackEvent.objects.create(call=call, verdict="applied", payload={"status": "\ud800"})
    admin_pages_render(admin_client, call)
    event_page = reverse(
        "admin:django_voiceotp_callbackevent_change", args=[CallbackEvent.objects.get().pk]
    )
    assert "\ufffd" in admin_client.get(event_page).content.decode()


def test_the_admin_renders_a_stored_deep_payload(admin_client):
    call = make_call()
    event = CallbackEvent.objects.create(call=call, verdict="malformed", payload={})
    # As deep as SQLite's JSON_VALID lets a row be: json.loads of it exhausts a deep stack.
    deep = "[" * 990 + "]" * 990
    with connection.cursor() as cursor:  # what an older version could not even have read back
        cursor.execute(
            "UPDATE django_voiceotp_callbackevent SET payload = %s WHERE id = %s", [deep, event.pk]
        )
    shallow = CallbackEvent.objects.create(call=call, verdict="malformed", payload=[[[[[[1]]]]]])
    nested = [1]
    for _ in range(200):
        nested = [nested]
    CallbackEvent.objects.filter(pk=shallow.pk).update(payload=nested)
    admin_pages_render(admin_client, call)
    assert CallbackEvent.objects.get(pk=event.pk).payload["unreadable"]


# -- provider text in log lines ----------------------------------------------------------------


def test_provider_text_is_escaped_in_log_lines(monkeypatch, caplog):
    call = make_call(
        status=Call.Status.PENDING,
        provider_call_id=None,
        created_at=timezone.now(),
        otp=seal_otp("482915"),
    )
    forged_line = "no\nCall 99 pending → success (campaign c78af)\x00\x1b[31m"

    def refuse(*args, **kwargs):
        raise ProviderRejected("The provider refused the request.", provider_message=forged_line)

    monkeypatch.setattr("django_voiceotp.providers.pitel.PitelProvider.start_call", refuse)
    with caplog.at_level(logging.INFO, logger="django_voiceotp"):
        sending.send_call(call.pk)
    call.refresh_from_db()
    assert call.status == "failed"
    lines = [record.getMessage() for record in caplog.records]
    failed = [line for line in lines if "→ failed" in line]
    assert len(failed) == 1
    assert "\n" not in failed[0] and "\x1b" not in failed[0] and "\x00" not in failed[0]
    assert "no\\nCall 99 pending" in failed[0] and "\\x1b[31m" in failed[0]


def test_a_rejected_callback_logs_one_line(caplog):
    call = make_call()
    with caplog.at_level(logging.WARNING, logger="django_voiceotp"):
        post(call, encoded(report(status="ring\n\x1b[31m")))
    (record,) = [r for r in caplog.records if r.name == "django_voiceotp"]
    assert "\n" not in record.getMessage() and "\x1b" not in record.getMessage()


def test_payload_detail_is_stored_as_a_code(admin_client):
    call = make_call()
    post(call, json.dumps(report()).encode())
    event = CallbackEvent.objects.get()
    assert event.reason == "applied"
    page = admin_client.get(reverse("admin:django_voiceotp_callbackevent_change", args=[event.pk]))
    assert "The result was applied to the call." in page.content.decode()


def test_the_reason_reads_in_the_admins_language(admin_client):
    call = make_call()
    post(call, encoded(report(duration=-1)))
    event = CallbackEvent.objects.get()
    with translation.override("vi"):
        page = admin_client.get(
            reverse("admin:django_voiceotp_callbackevent_change", args=[event.pk])
        )
    html = page.content.decode()
    assert "Một giá trị trong báo cáo không dùng được." in html
    assert "A value of the report cannot be used." not in html


# -- rejections at bounded cost: per network, capped per hour, by the limits' address ---------


def test_rotating_ipv6_addresses_of_one_64_cost_one_event():
    for host in range(1, 51):
        assert post(None, b"{}", REMOTE_ADDR=f"2001:db8:1:2::{host:x}").status_code == 403
    post(None, b"{}", REMOTE_ADDR="2001:db8:1:3::1")  # the next /64: a subscriber of its own
    runs = CallbackEvent.objects.order_by("pk")
    runs = runs.values_list("remote_addr", "remote_network", "count")
    assert list(runs) == [
        ("2001:db8:1:2::1", "2001:db8:1:2::/64", 50),
        ("2001:db8:1:3::1", "2001:db8:1:3::/64", 1),
    ]


def test_rejection_rows_are_capped_per_hour_site_wide(monkeypatch, time_machine):
    time_machine.move_to(timezone.now(), tick=False)
    monkeypatch.setattr("django_voiceotp.callbacks.rejections.REJECTED_ROWS_PER_HOUR", 5)
    body = encoded({"padding": "x" * 1000})
    for host in range(1, 21):
        assert post(None, body, REMOTE_ADDR=f"198.51.100.{host}").status_code == 403
    assert post(None, b"{}", REMOTE_ADDR="198.51.100.1").status_code == 403  # a run of its own
    assert post(None, b"{}", HTTP_TRANSFER_ENCODING="chunked").status_code == 411
    runs = CallbackEvent.objects.order_by("pk").values_list("remote_network", "verdict", "count")
    assert list(runs) == [
        ("198.51.100.1", "bad_token", 2),
        *((f"198.51.100.{host}", "bad_token", 1) for host in range(2, 6)),
        ("*", "bad_token", 15),  # past the cap: only a count moves, whatever the network
        ("*", "malformed", 1),
    ]
    overflow = CallbackEvent.objects.filter(remote_network="*")
    assert all(e.remote_addr is None and e.raw_body == "" for e in overflow)
    # An hour on, the cap counts anew.
    time_machine.shift(timedelta(hours=1, seconds=1))
    post(None, b"{}", REMOTE_ADDR="198.51.100.30")
    assert CallbackEvent.objects.latest("pk").remote_network == "198.51.100.30"


@pytest.mark.parametrize("forged", [False, True], ids=["valid-token", "forged-token"])
def test_behind_a_proxy_the_address_the_limits_use_is_stored(voiceotp, forged):
    voiceotp(TRUSTED_PROXY_HEADER="X-Forwarded-For")
    call = make_call()
    post(
        None if forged else call,
        encoded(report()),
        REMOTE_ADDR="10.0.0.2",
        HTTP_X_FORWARDED_FOR="192.0.2.66, 2001:db8:5:6::7",
    )
    event = CallbackEvent.objects.get()
    assert (event.remote_addr, event.remote_network) == ("2001:db8:5:6::7", "2001:db8:5:6::/64")


@pytest.mark.parametrize("subject", ["unknown", "", None, "unix:/run/gunicorn.sock", "x" * 300])
@pytest.mark.parametrize("forged", [False, True], ids=["valid-token", "forged-token"])
def test_a_client_that_is_not_an_address_is_stored_as_unknown(monkeypatch, subject, forged):
    # Whatever limits.clients.client_ip calls a client it cannot name, only an address is stored.
    monkeypatch.setattr("django_voiceotp.callbacks.views.client_ip", lambda request: subject)
    call = make_call()
    for _ in range(2):
        assert post(None if forged else call, encoded(report())).status_code < 500
    events = CallbackEvent.objects.order_by("pk")
    assert {(e.remote_addr, e.remote_network) for e in events} == {(None, "")}
    if forged:
        assert [e.count for e in events] == [2]


# -- a token after its call's result: counted, then refused ------------------------------------


def test_repeats_with_a_valid_token_after_the_result_cost_one_event():
    call = make_call()
    assert post(call, encoded(report())).json()["verdict"] == Verdict.APPLIED
    padded = encoded(report(padding="x" * 16000))
    for _ in range(50):
        response = post(call, padded, REMOTE_ADDR="203.0.113.9")
        assert (response.status_code, response.json()["verdict"]) == (200, Verdict.DUPLICATE)
    runs = CallbackEvent.objects.filter(call=call).order_by("pk")
    assert [(e.verdict, e.count) for e in runs] == [("applied", 1), ("duplicate", 50)]
    duplicate = runs.last()
    assert (duplicate.payload, duplicate.raw_body, duplicate.body_size) == (None, "", len(padded))
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT SUM(LENGTH(raw_body) + COALESCE(LENGTH(CAST(payload AS TEXT)), 0)) "
            "FROM django_voiceotp_callbackevent"
        )
        assert cursor.fetchone()[0] < 1000


def test_a_token_is_refused_a_grace_after_its_call_is_final(
    time_machine, voiceotp, signals, django_capture_on_commit_callbacks
):
    time_machine.move_to(timezone.now(), tick=False)
    voiceotp(CALLBACK_FINAL_GRACE=120)
    call = make_call()
    with django_capture_on_commit_callbacks(execute=True):
        assert post(call, encoded(report(status="Fail"))).json()["verdict"] == Verdict.APPLIED
    time_machine.shift(timedelta(seconds=120))
    assert post(call, encoded(report())).json()["verdict"] == Verdict.DUPLICATE
    time_machine.shift(timedelta(seconds=1))
    for body in (encoded(report()), b"garbage"):
        response = post(call, body)
        assert (response.status_code, response.json()["verdict"]) == (403, Verdict.BAD_TOKEN)
    assert post(call, b"{}", HTTP_TRANSFER_ENCODING="chunked").status_code == 403
    runs = CallbackEvent.objects.filter(call=call).order_by("pk")
    assert [(e.verdict, e.reason, e.count) for e in runs] == [
        ("applied", "applied", 1),
        ("duplicate", "already_final", 1),
        ("bad_token", "call_finished", 3),
    ]
    call.refresh_from_db()
    assert (call.status, call.raw_status) == ("failed", "Fail")
    assert [name for name, *_ in signals.names(call.pk)] == ["changed", "failed"]


# -- an early report: kept, applied only when the provider names the call ---------------------


def test_an_early_report_with_a_call_id_of_the_senders_choosing_is_not_applied(
    voiceotp, monkeypatch, signals, django_capture_on_commit_callbacks
):
    voiceotp(REDIAL_MAX=1)
    call = make_call(
        status=Call.Status.PENDING,
        provider_call_id=None,
        created_at=timezone.now(),
        otp=seal_otp("482915"),
    )
    response = post(call, encoded({"call_id": "attacker-chosen", "status": "BUSY"}))
    assert (response.status_code, response.json()["verdict"]) == (200, Verdict.EARLY)
    call.refresh_from_db()
    assert (call.status, call.provider_call_id, call.failure_reason) == ("pending", None, "")
    assert Call.objects.count() == 1  # no redial
    # The provider's answer names another call_id: the kept report is never applied.
    started = StartedCall(call_id=PROVIDER_CALL_ID, campaign_id="c78af")
    monkeypatch.setattr(
        "django_voiceotp.providers.pitel.PitelProvider.start_call", lambda *args, **kwargs: started
    )
    with django_capture_on_commit_callbacks(execute=True):
        sending.send_call(call.pk)
    call.refresh_from_db()
    assert (call.status, call.provider_call_id) == ("sent", PROVIDER_CALL_ID)
    assert Call.objects.count() == 1
    assert signals.names(call.pk) == [("changed", "pending", "sent")]


def test_an_early_report_of_the_call_the_provider_accepted_is_applied_by_the_send(
    monkeypatch, signals, django_capture_on_commit_callbacks
):
    call = make_call(
        status=Call.Status.PENDING,
        provider_call_id=None,
        created_at=timezone.now(),
        otp=seal_otp("482915"),
    )
    post(call, encoded(report(call_id="someone-else", status="BUSY")))
    post(call, encoded(report(start_time=None)))
    started = StartedCall(call_id=PROVIDER_CALL_ID, campaign_id="c78af")
    monkeypatch.setattr(
        "django_voiceotp.providers.pitel.PitelProvider.start_call", lambda *args, **kwargs: started
    )
    with django_capture_on_commit_callbacks(execute=True):
        sending.send_call(call.pk)
    call.refresh_from_db()
    assert (call.status, call.provider_call_id, call.otp) == ("success", PROVIDER_CALL_ID, "")
    assert signals.names(call.pk) == [("changed", "pending", "success"), ("succeeded", None)]
    verdicts = CallbackEvent.objects.order_by("pk").values_list("payload__call_id", "verdict")
    assert list(verdicts) == [("someone-else", Verdict.EARLY), (PROVIDER_CALL_ID, Verdict.APPLIED)]


# -- the token stays out of every log record -----------------------------------------------------


def test_the_token_is_in_no_log_record(caplog, voiceotp):
    voiceotp(CALLBACK_MAX_BODY_SIZE=1000)
    call = make_call()
    token = callback_path(call).rstrip("/").rsplit("/", 1)[-1]
    with caplog.at_level(logging.DEBUG):
        post(call, b"not json")  # 400
        post(call, encoded(report(padding="x" * 2000)))  # 413
        post(call, encoded(report(call_id="another")))  # 400, a mismatch
        post(None, b"{}")  # 403
        assert APIClient().get(callback_path(call)).status_code == 405
    records = caplog.records
    assert records
    for record in records:
        text = record.getMessage() + repr(record.__dict__)
        assert token not in text and FORGED_TOKEN not in text, record.name
    assert not [r for r in records if r.name == "django.request"]
    rejected = [r.getMessage() for r in records if r.name == "django_voiceotp"]
    assert sum(f"call {call.pk} rejected" in line for line in rejected) == 3


def _raise(error):
    def raising(*args, **kwargs):
        raise error

    return raising


@pytest.mark.parametrize("failing", ["read_call", "event_save", "client_ip"])
def test_an_unexpected_error_is_a_503_logged_without_the_token(failing, monkeypatch, caplog):
    call = make_call()
    path = callback_path(call)
    token = path.rstrip("/").rsplit("/", 1)[-1]
    # The message names the token, as a driver's error might quote what it was given.
    if failing == "read_call":
        target = "django_voiceotp.callbacks.door.read_call"
        monkeypatch.setattr(target, _raise(DatabaseError(f"no such row for {path}")))
    elif failing == "event_save":
        target = "django_voiceotp.callbacks.door.insert_event"
        monkeypatch.setattr(target, _raise(OperationalError(f"database is locked ({token})")))
    else:
        error = ImproperlyConfigured(f"TRUSTED_PROXY_HEADER is wrong at {path}")
        monkeypatch.setattr("django_voiceotp.callbacks.views.client_ip", _raise(error))
    client = APIClient(raise_request_exception=False)
    with caplog.at_level(logging.DEBUG):
        response = client.post(path, encoded(report()), content_type="application/json")
    assert response.status_code == 503
    assert token not in response.content.decode()
    records = caplog.records
    for record in records:
        text = record.getMessage() + repr(record.__dict__) + str(record.exc_text)
        if record.exc_info:
            text += logging.Formatter().formatException(record.exc_info)
        assert token not in text and path not in text, record.name
    assert not [r for r in records if r.name == "django.request"]
    [line] = [r.getMessage() for r in records if r.levelno >= logging.ERROR]
    expected = {"read_call": "DatabaseError", "event_save": "OperationalError"}
    assert line.startswith(
        f"Callback for call {call.pk} failed ({expected.get(failing, 'ImproperlyConfigured')})"
    )
    assert "<token>" in line  # the error's message is kept, the token cut from it
    call.refresh_from_db()
    assert call.status == Call.Status.SENT  # nothing applied: the provider's retry will be


@pytest.mark.parametrize("grace", [float("nan"), float("inf"), -1, 1e13, True])
def test_an_invalid_final_grace_falls_back_to_the_default(grace, voiceotp, time_machine):
    time_machine.move_to(timezone.now(), tick=False)
    voiceotp(CALLBACK_FINAL_GRACE=grace)
    call = make_call()
    assert post(call, encoded(report())).json()["verdict"] == Verdict.APPLIED
    time_machine.shift(timedelta(seconds=DEFAULTS["CALLBACK_FINAL_GRACE"]))
    response = post(call, encoded(report()))
    assert (response.status_code, response.json()["verdict"]) == (200, Verdict.DUPLICATE)
    time_machine.shift(timedelta(seconds=1))
    response = post(call, encoded(report()))
    assert (response.status_code, response.json()["verdict"]) == (403, Verdict.BAD_TOKEN)
    assert post(call, b"{}", HTTP_TRANSFER_ENCODING="chunked").status_code == 403


def test_a_retry_after_a_lost_answer_applies_the_providers_report_and_calls_no_one_twice(
    monkeypatch, signals, django_capture_on_commit_callbacks
):
    # The first attempt timed out, but the provider placed the call and reported it meanwhile.
    call = make_call(
        status=Call.Status.PENDING,
        provider_call_id=None,
        created_at=timezone.now(),
        otp=seal_otp("482915"),
        send_attempts=1,
        next_attempt_at=timezone.now() - timedelta(seconds=1),
    )
    assert post(call, encoded(report(start_time=None))).json()["verdict"] == Verdict.EARLY

    def place_again(*args, **kwargs):
        raise AssertionError("the call was placed a second time")

    monkeypatch.setattr("django_voiceotp.providers.pitel.PitelProvider.start_call", place_again)
    with django_capture_on_commit_callbacks(execute=True):
        sending.send_call(call.pk)
    call.refresh_from_db()
    assert (call.status, call.provider_call_id) == ("success", PROVIDER_CALL_ID)
    assert CallbackEvent.objects.get().verdict == Verdict.APPLIED
    assert signals.names(call.pk) == [("changed", "pending", "success"), ("succeeded", None)]


def test_a_report_read_before_the_send_stored_its_answer_is_applied(monkeypatch):
    # The callback read the call while pending; the send stored the provider's answer since.
    call = make_call(created_at=timezone.now())
    read_while_pending = Call.objects.get(pk=call.pk)
    read_while_pending.status, read_while_pending.provider_call_id = "pending", None
    monkeypatch.setattr(
        "django_voiceotp.callbacks.door.read_call", lambda call_id: read_while_pending
    )
    response = post(call, encoded(report(start_time=None)))
    assert (response.status_code, response.json()["verdict"]) == (200, Verdict.APPLIED)
    call.refresh_from_db()
    assert (call.status, call.provider_call_id) == ("success", PROVIDER_CALL_ID)
    # And one naming another call_id is refused as for any sent call.
    other = make_call(created_at=timezone.now(), provider_call_id="another-id")
    read_while_pending = Call.objects.get(pk=other.pk)
    read_while_pending.status, read_while_pending.provider_call_id = "pending", None
    response = post(other, encoded(report(start_time=None)))
    assert (response.status_code, response.json()["verdict"]) == (400, Verdict.MISMATCH)
    other.refresh_from_db()
    assert other.status == "sent"
