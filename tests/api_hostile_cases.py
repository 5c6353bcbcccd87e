"""The verification API under hostile and odd requests: exact answers, nothing placed.

The cases run twice: on SQLite in the main suite (``test_api_hostile.py``) and on PostgreSQL in
the production tier (``production/test_api_hostile.py``), each module importing them all.
"""

from __future__ import annotations

import base64
import json

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from django_voiceotp import request_code
from django_voiceotp.models import Call, Verification

pytestmark = pytest.mark.django_db

PHONE = "0771122330"
UNKNOWN_ID = "00000000-0000-4000-8000-000000000000"


def list_url() -> str:
    return reverse("django_voiceotp:verification-list")


def check_url(pk) -> str:
    return reverse("django_voiceotp:verification-check", kwargs={"pk": pk})


def detail_url(pk) -> str:
    return reverse("django_voiceotp:verification-detail", kwargs={"pk": pk})


@pytest.fixture
def api():
    return APIClient(REMOTE_ADDR="203.0.113.7")


def nothing_placed() -> bool:
    return Verification.objects.count() == Call.objects.count() == 0


# -- JSON only -----------------------------------------------------------------------------------


def test_a_cross_site_form_post_places_no_call(api):
    """A browser sends a form to any site without a preflight: such a body is refused."""
    form = api.post(
        list_url(), "phone_number=0771122330", content_type="application/x-www-form-urlencoded"
    )
    assert form.status_code == 415
    assert form.json() == {
        "detail": 'Unsupported media type "application/x-www-form-urlencoded" in request.'
    }
    multipart = api.post(list_url(), {"phone_number": PHONE}, format="multipart")
    assert multipart.status_code == 415
    plain = api.post(list_url(), '{"phone_number": "0771122330"}', content_type="text/plain")
    assert plain.status_code == 415
    assert nothing_placed()


def test_a_form_post_cannot_check_a_code(api):
    pk = request_code(PHONE).pk
    response = api.post(
        check_url(pk), "code=123456", content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 415
    assert Verification.objects.get().attempts == 0


@pytest.mark.parametrize("accept", ["text/html", "text/html,application/xhtml+xml,*/*;q=0.8"])
def test_answers_are_json_whatever_accept_says(api, accept):
    pk = request_code(PHONE).pk
    response = api.get(detail_url(pk), HTTP_ACCEPT=accept)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response.json()["id"] == str(pk)


# -- no authentication ---------------------------------------------------------------------------


def test_a_basic_authorization_header_is_not_checked(api):
    """The project's DRF authentication does not run here: no password oracle."""
    pk = request_code(PHONE).pk
    wrong = "Basic " + base64.b64encode(b"nobody:wrong").decode()
    response = api.get(detail_url(pk), HTTP_AUTHORIZATION=wrong)
    assert response.status_code == 200
    assert response.json()["id"] == str(pk)
    unknown = api.get(detail_url(UNKNOWN_ID), HTTP_AUTHORIZATION=wrong)
    assert (unknown.status_code, unknown.json()) == (404, {"detail": "Not found."})


def test_a_logged_in_browser_gets_no_csrf_refusal():
    get_user_model().objects.create_user("lan", password="correct horse")
    browser = Client(enforce_csrf_checks=True, REMOTE_ADDR="203.0.113.7")
    assert browser.login(username="lan", password="correct horse")
    response = browser.post(list_url(), {"phone_number": PHONE}, content_type="application/json")
    assert response.status_code == 201
    check = browser.post(
        check_url(response.json()["id"]), {"code": "000000"}, content_type="application/json"
    )
    assert check.status_code == 400
    assert check.json()["verified"] is False


# -- validate first, then the number's limits -----------------------------------------------------


def test_an_invalid_number_never_gets_the_victims_wait(api, clock):
    victim = "0775556667"
    request_code(victim)  # the victim's cooldown now runs
    response = api.post(list_url(), {"phone_number": victim + "." * 25}, format="json")
    assert response.status_code == 400
    assert "Retry-After" not in response.headers
    assert response.json() == {
        "phone_number": ["Ensure this field has no more than 32 characters."]
    }
    # The number itself, validly spelled, is refused by its cooldown, after validation.
    limited = api.post(list_url(), {"phone_number": victim}, format="json")
    assert (limited.status_code, limited.headers["Retry-After"]) == (429, "60")


def test_only_post_is_throttled(api, voiceotp, clock):
    voiceotp(RESEND_COOLDOWN=0, SENDS_PER_IP_PER_HOUR=1)
    assert api.post(list_url(), {"phone_number": PHONE}, format="json").status_code == 201
    assert api.post(list_url(), {"phone_number": "0901234567"}, format="json").status_code == 429
    preflight = api.options(list_url())
    assert preflight.status_code == 200
    assert "Retry-After" not in preflight.headers


# -- numbers with an extension -------------------------------------------------------------------


@pytest.mark.parametrize(
    "number", ["0771122330 ext 1", "0771122330;ext=9", "tel:+84771122330;ext=7"]
)
def test_a_number_with_an_extension_is_invalid(api, number):
    response = api.post(list_url(), {"phone_number": number}, format="json")
    assert response.status_code == 400
    assert response.json() == {"phone_number": ["Enter a valid phone number."]}
    assert nothing_placed()


# -- bodies the parser must survive ---------------------------------------------------------------


DEEP = "[" * 1000 + "]" * 1000
DEEP_OBJECT = '{"phone_number": ' + "[" * 1000 + "]" * 1000 + "}"


@pytest.mark.parametrize("body", [DEEP, DEEP_OBJECT])
def test_deeply_nested_json_is_a_parse_error(api, body):
    for url in (list_url(), check_url(UNKNOWN_ID)):
        response = api.post(url, body, content_type="application/json")
        assert response.status_code == 400
        assert response.json() == {"detail": "The body is nested deeper than 16 levels."}
    assert nothing_placed()


def test_brackets_inside_strings_do_not_count_as_nesting(api):
    body = json.dumps({"phone_number": "[" * 31})
    response = api.post(list_url(), body, content_type="application/json")
    assert response.status_code == 400
    assert response.json() == {"phone_number": ["Enter a valid phone number."]}


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_non_standard_constants_are_a_parse_error(api, constant):
    response = api.post(
        list_url(), '{"phone_number": ' + constant + "}", content_type="application/json"
    )
    assert response.status_code == 400
    assert response.json() == {"detail": f"{constant} is not JSON."}


def test_a_body_that_is_not_utf8_is_a_parse_error(api):
    response = api.post(list_url(), b'{"phone_number": "\xff"}', content_type="application/json")
    assert (response.status_code, response.json()) == (
        400,
        {"detail": "The body is not UTF-8."},
    )


def test_an_oversized_body_is_413_json(api, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024
    body = json.dumps({"phone_number": PHONE, "padding": "x" * 2000})
    response = api.post(list_url(), body, content_type="application/json")
    assert (response.status_code, response.json()) == (
        413,
        {"detail": "The body is larger than DATA_UPLOAD_MAX_MEMORY_SIZE."},
    )
    assert nothing_placed()


@pytest.mark.parametrize(
    "body",
    [
        "[]",
        "null",
        '"0771122330"',
        '{"phone_number": ["0771122330"]}',
        '{"phone_number": "0771\\u0000122330"}',
        '{"phone_number": "\\ud800"}',
    ],
)
def test_odd_json_values_are_field_errors(api, body):
    response = api.post(list_url(), body, content_type="application/json")
    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert nothing_placed()
