"""The callback view: authentication by signed URL, validation, storage, idempotent application."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from django.core import signing
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from django_voiceotp import callback_urls
from django_voiceotp.callback_urls import callback_url_for
from django_voiceotp.exceptions import ImproperlyConfigured
from django_voiceotp.models import Call, CallbackEvent, Campaign

pytestmark = pytest.mark.django_db

Verdict = CallbackEvent.Verdict


@pytest.fixture
def call(voiceotp):
    voiceotp(CALLBACK_BASE_URL="https://app.example.com")
    campaign = Campaign.objects.create(campaign_id="c78af")
    return Call.objects.create(
        campaign=campaign,
        phone_number="0771122330",
        status=Call.Status.SENT,
        provider_call_id="88aa4744-d567-49fa-88b1-26e09da884a5",
        # Placed just before the start_time of the payload below (23:23 in Hanoi).
        created_at=datetime(2020, 11, 10, 16, 23, tzinfo=UTC),
    )


@pytest.fixture
def client():
    return APIClient(enforce_csrf_checks=True)


def payload(call, **changes):
    body = {
        "call_id": call.provider_call_id,
        "campaign_id": "c78af",
        "duration": 11,
        "keypress": "123456",
        "phone_number": "0771122330",
        "start_time": "2020-11-10 23:23:11",
        "status": "Success",
        "user_id": "f461",
    }
    return {**body, **changes}


def path_for(call):
    return callback_url_for(call).removeprefix("https://app.example.com")


def post(client, path, body, content_type="application/json"):
    data = body if isinstance(body, (bytes, str)) else json.dumps(body)
    return client.post(path, data=data, content_type=content_type)


def test_callback_url_is_signed_per_call(call):
    url = callback_url_for(call)
    assert url.startswith("https://app.example.com/voiceotp/callbacks/")
    other = Call.objects.create(campaign=call.campaign, phone_number="0771122331")
    assert callback_url_for(other) != url


def test_no_callback_url_without_base_url(call, voiceotp):
    voiceotp(CALLBACK_BASE_URL=None)
    assert callback_url_for(call) is None


def test_a_callback_token_expires_a_day_after_the_last_poll(client, call, time_machine, voiceotp):
    time_machine.move_to(timezone.now(), tick=False)
    voiceotp(POLL_SCHEDULE=(15, 300))
    path = path_for(call)
    assert callback_urls.callback_token_max_age() == 300 + 86400
    time_machine.shift(timedelta(seconds=300 + 86400 - 1))
    assert post(client, path, payload(call, status="")).status_code == 200
    time_machine.shift(timedelta(seconds=2))
    late = post(client, path, payload(call))
    assert (late.status_code, late.json()["verdict"]) == (403, "bad_token")
    call.refresh_from_db()
    assert call.status == "sent"


def test_the_callback_token_lifetime_is_a_setting(call, time_machine, voiceotp):
    time_machine.move_to(timezone.now(), tick=False)
    voiceotp(CALLBACK_TOKEN_MAX_AGE=60)
    token = callback_urls.callback_token_for(call)
    assert callback_urls.call_id_from_callback_token(token) == call.pk
    time_machine.shift(timedelta(seconds=61))
    assert callback_urls.call_id_from_callback_token(token) is None


@pytest.mark.parametrize("max_age", ["1h", 0, -5, True])
def test_a_bad_token_lifetime_is_a_configuration_error_not_a_bad_token(call, voiceotp, max_age):
    token = callback_urls.callback_token_for(call)
    voiceotp(CALLBACK_TOKEN_MAX_AGE=max_age)
    with pytest.raises(ImproperlyConfigured, match="CALLBACK_TOKEN_MAX_AGE"):
        callback_urls.call_id_from_callback_token(token)


def test_an_undated_token_of_an_older_version_is_refused(call):
    undated = signing.Signer(salt=callback_urls.CALLBACK_TOKEN_SALT).sign(str(call.pk))
    assert callback_urls.call_id_from_callback_token(undated) is None


def test_tokens_signed_before_a_secret_key_rotation_are_accepted(call, settings):
    token = callback_urls.callback_token_for(call)
    settings.SECRET_KEY_FALLBACKS = [settings.SECRET_KEY]
    settings.SECRET_KEY = "a-new-secret-key-for-the-rotation-test"
    assert callback_urls.call_id_from_callback_token(token) == call.pk
    settings.SECRET_KEY_FALLBACKS = []
    assert callback_urls.call_id_from_callback_token(token) is None


def test_valid_callback_applies_once(client, call):
    response = post(client, path_for(call), payload(call))
    assert response.status_code == 200
    assert response.json()["verdict"] == "applied"
    call.refresh_from_db()
    assert (call.status, call.duration, call.raw_status) == ("success", 11, "Success")
    assert call.started_at.isoformat() == "2020-11-10T16:23:11+00:00"

    again = post(client, path_for(call), payload(call, status="Fail"))
    assert again.status_code == 200 and again.json()["verdict"] == "duplicate"
    call.refresh_from_db()
    assert call.status == "success"
    assert list(CallbackEvent.objects.order_by("pk").values_list("verdict", flat=True)) == [
        "applied",
        "duplicate",
    ]


def test_in_progress_callback_is_recorded_and_changes_nothing(client, call):
    response = post(client, path_for(call), payload(call, status=""))
    assert response.status_code == 200 and response.json()["verdict"] == "in_progress"
    call.refresh_from_db()
    assert call.status == "sent"


@pytest.mark.parametrize("token", ["1:forged", "garbage", "1"])
def test_forged_token_is_refused_and_stored(client, call, token):
    response = post(
        client, reverse("django_voiceotp:callback", kwargs={"token": token}), payload(call)
    )
    assert response.status_code == 403
    call.refresh_from_db()
    assert call.status == "sent"
    event = CallbackEvent.objects.get()
    assert (event.verdict, event.call) == (Verdict.BAD_TOKEN, None)


def test_token_of_a_deleted_call_is_refused(client, call):
    path = path_for(call)
    call.delete()
    assert post(client, path, payload(call)).status_code == 403


def test_missing_token_is_not_found(client, call):
    assert post(client, "/voiceotp/callbacks/", payload(call)).status_code == 404


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        (b"{not json", "not valid JSON"),
        (b"[1, 2]", "not a JSON object"),
        ({"status": "Success"}, "no call_id"),
        ({"call_id": "88aa4744-d567-49fa-88b1-26e09da884a5"}, "no status"),
        ({"call_id": "88aa4744-d567-49fa-88b1-26e09da884a5", "status": 1}, "not a string"),
    ],
)
def test_malformed_callbacks_are_refused_and_stored(client, call, body, detail):
    response = post(client, path_for(call), body)
    assert response.status_code == 400
    assert detail in response.json()["detail"]
    call.refresh_from_db()
    assert call.status == "sent"
    event = CallbackEvent.objects.get()
    assert (event.verdict, event.call_id) == (Verdict.MALFORMED, call.pk)


def test_non_json_body_is_kept_raw(client, call):
    post(client, path_for(call), b"status=Success")
    assert CallbackEvent.objects.get().raw_body == "status=Success"


def test_wrong_content_type_is_refused(client, call):
    response = post(client, path_for(call), json.dumps(payload(call)), content_type="text/plain")
    assert response.status_code == 415
    call.refresh_from_db()
    assert call.status == "sent"
    assert CallbackEvent.objects.get().verdict == Verdict.MALFORMED


def test_call_id_mismatch_is_refused(client, call):
    response = post(client, path_for(call), payload(call, call_id="someone-else"))
    assert response.status_code == 400
    call.refresh_from_db()
    assert call.status == "sent"
    assert CallbackEvent.objects.get().verdict == Verdict.MISMATCH


def test_early_callback_cannot_claim_another_calls_id(client, call):
    early = Call.objects.create(campaign=call.campaign, phone_number="0771122331")
    response = post(client, path_for(early), payload(call))
    assert (response.status_code, response.json()["verdict"]) == (200, Verdict.EARLY)
    early.refresh_from_db()
    assert (early.status, early.provider_call_id) == ("pending", None)


def test_oversized_body_is_refused_unread(client, call, voiceotp):
    voiceotp(CALLBACK_MAX_BODY_SIZE=100)
    response = post(client, path_for(call), payload(call, padding="x" * 200))
    assert response.status_code == 413
    call.refresh_from_db()
    assert call.status == "sent"
    event = CallbackEvent.objects.get()
    assert (event.verdict, event.payload, event.raw_body) == (Verdict.TOO_LARGE, None, "")


def test_keypress_is_never_stored(client, call):
    post(client, path_for(call), payload(call))
    event = CallbackEvent.objects.get()
    assert event.payload["keypress"] == "[redacted]"
    assert "123456" not in json.dumps(event.payload)


def test_remote_address_is_stored(client, call):
    client.post(
        path_for(call),
        data=json.dumps(payload(call)),
        content_type="application/json",
        REMOTE_ADDR="203.0.113.7",
    )
    assert CallbackEvent.objects.get().remote_addr == "203.0.113.7"


def test_other_methods_are_not_allowed(client, call):
    assert client.get(path_for(call)).status_code == 405


def statements_in_transaction(queries) -> list[str]:
    """The statements inside the callback's transaction (a savepoint within the test's own)."""
    sql = [q["sql"] for q in queries]
    begins = [i for i, text in enumerate(sql) if text.startswith("SAVEPOINT")]
    ends = [i for i, text in enumerate(sql) if text.startswith("RELEASE SAVEPOINT")]
    assert len(begins) == len(ends) == 1, sql
    return sql[begins[0] + 1 : ends[0]]


@pytest.mark.parametrize(
    ("body", "verdict"),
    [
        ({}, Verdict.APPLIED),
        ({"status": ""}, Verdict.IN_PROGRESS),
        ({"call_id": "another-call"}, Verdict.MISMATCH),
        ({"duration": "eleven"}, Verdict.MALFORMED),
    ],
)
def test_the_transaction_of_a_callback_holds_at_most_two_statements(client, call, body, verdict):
    path = path_for(call)
    with CaptureQueriesContext(connection) as queries:
        response = post(client, path, payload(call, **body))
    assert response.json()["verdict"] == verdict
    assert len(statements_in_transaction(queries)) <= 2, queries.captured_queries


def test_a_duplicate_costs_no_more_than_the_applied_callback(client, call):
    path = path_for(call)
    with CaptureQueriesContext(connection) as applied:
        assert post(client, path, payload(call)).json()["verdict"] == Verdict.APPLIED
    with CaptureQueriesContext(connection) as duplicate:
        assert post(client, path, payload(call)).json()["verdict"] == Verdict.DUPLICATE
    with CaptureQueriesContext(connection) as repeated:
        assert post(client, path, payload(call)).json()["verdict"] == Verdict.DUPLICATE
    # Counted on the call's run, outside a transaction: nothing is applied to a final call.
    assert len(duplicate) <= len(applied) and len(repeated) <= len(applied)


def test_a_forged_token_costs_at_most_three_statements(client, call):
    path = reverse("django_voiceotp:callback", kwargs={"token": "1:forged"})
    with CaptureQueriesContext(connection) as first:
        assert post(client, path, payload(call)).status_code == 403
    with CaptureQueriesContext(connection) as repeated:
        assert post(client, path, payload(call)).status_code == 403
    # The first is stored (look-up, the hour's cap, insert), the next counted on it (look-up,
    # update).
    assert len(first) <= 3 and len(repeated) <= 2, (
        first.captured_queries,
        repeated.captured_queries,
    )


def test_a_callback_costs_three_queries(client, call):
    path = path_for(call)
    with CaptureQueriesContext(connection) as queries:
        assert post(client, path, payload(call)).status_code == 200
    # Savepoints come from the test's own transaction; in production the view opens a transaction.
    statements = [q["sql"] for q in queries if "SAVEPOINT" not in q["sql"]]
    assert len(statements) == 3, statements
