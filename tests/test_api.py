"""The verification endpoints, through DRF's test client, checked against openapi.yaml."""

from __future__ import annotations

import re
from datetime import timedelta
from importlib import resources

import jsonschema
import pytest
import yaml
from django.urls import URLPattern, reverse
from django.utils import timezone
from rest_framework.test import APIClient

from django_voiceotp import urls as voiceotp_urls
from django_voiceotp import verification as verification_module
from django_voiceotp.models import Call, Verification

PHONE = "0771122330"
CHECK_FAILED_BODY = {
    "verified": False,
    "detail": "The code is not valid. Check it, or ask for a new one.",
}
SPEC = yaml.safe_load(resources.files("django_voiceotp").joinpath("openapi.yaml").read_text())


def conforms(response, path: str, method: str) -> dict:
    """Assert ``response`` is one the document describes for this operation; return its body."""
    operation = SPEC["paths"][path][method]
    documented = operation["responses"][str(response.status_code)]
    for header in documented.get("headers", {}):
        assert header in response.headers, f"{header} missing"
    schema = documented["content"]["application/json"]["schema"]
    body = response.json()
    jsonschema.validate(body, {**schema, "components": SPEC["components"]})
    return body


@pytest.fixture
def api():
    return APIClient(REMOTE_ADDR="203.0.113.7")


@pytest.fixture
def known_code(monkeypatch):
    monkeypatch.setattr(verification_module, "generate_code", lambda length=None: "482915")
    return "482915"


def list_url() -> str:
    return reverse("django_voiceotp:verification-list")


def check_url(pk) -> str:
    return reverse("django_voiceotp:verification-check", kwargs={"pk": pk})


def detail_url(pk) -> str:
    return reverse("django_voiceotp:verification-detail", kwargs={"pk": pk})


# -- asking for a code ---------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_the_whole_flow_over_http(api, sandbox, callbacks_to):
    response = api.post(list_url(), {"phone_number": "+84 77 112 2330"}, format="json")
    assert response.status_code == 201
    body = conforms(response, "/verifications/", "post")
    assert set(body) == {"id", "expires_at"}
    assert response.headers["Location"].endswith(detail_url(body["id"]))
    code = sandbox.calls[0].otp

    status = api.get(detail_url(body["id"]))
    assert conforms(status, "/verifications/{id}/", "get")["call_status"] in ("sent", "success")
    assert sandbox.wait_for_callbacks()
    status = api.get(detail_url(body["id"]))
    assert status.json()["call_status"] == "success"
    assert code not in status.content.decode() and code not in response.content.decode()

    check = api.post(check_url(body["id"]), {"code": code}, format="json")
    assert check.status_code == 200
    assert conforms(check, "/verifications/{id}/check/", "post") == {"verified": True}
    assert Verification.objects.get().client_ip == "203.0.113.7"


@pytest.mark.django_db
def test_bad_numbers_get_field_errors(api):
    for payload, message in [
        ({"phone_number": "12345"}, "Enter a valid phone number."),
        ({"phone_number": "+1 212 555 0100"}, "This number cannot be called."),
        ({"phone_number": "1900 1234"}, "This number cannot be called."),
        ({}, "This field is required."),
    ]:
        response = api.post(list_url(), payload, format="json")
        assert response.status_code == 400
        assert conforms(response, "/verifications/", "post") == {"phone_number": [message]}
    malformed = api.post(list_url(), "{not json", content_type="application/json")
    assert malformed.status_code == 400
    assert Verification.objects.count() == Call.objects.count() == 0


@pytest.mark.django_db
def test_limited_requests_get_429_with_retry_after(api, time_machine):
    time_machine.move_to(timezone.now(), tick=False)
    assert api.post(list_url(), {"phone_number": PHONE}, format="json").status_code == 201
    response = api.post(list_url(), {"phone_number": "+84771122330"}, format="json")
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "60"
    conforms(response, "/verifications/", "post")
    assert Verification.objects.count() == Call.objects.count() == 1


@pytest.mark.django_db
def test_the_client_address_is_limited(api, voiceotp, clock):
    voiceotp(RESEND_COOLDOWN=0, SENDS_PER_IP_PER_HOUR=2)
    for number in ("0901234561", "0901234562"):
        assert api.post(list_url(), {"phone_number": number}, format="json").status_code == 201
    response = api.post(list_url(), {"phone_number": "0901234563"}, format="json")
    assert response.status_code == 429
    assert response.headers["Retry-After"] == str(45 * 60)  # to the end of the clock hour
    other = APIClient(REMOTE_ADDR="203.0.113.8")
    assert other.post(list_url(), {"phone_number": "0901234563"}, format="json").status_code == 201


@pytest.mark.django_db
def test_the_throttle_refuses_before_the_view_works(api, voiceotp, clock, monkeypatch):
    voiceotp(RESEND_COOLDOWN=0, SENDS_PER_IP_PER_HOUR=1)
    assert api.post(list_url(), {"phone_number": "0901234561"}, format="json").status_code == 201

    def must_not_run(*args, **kwargs):
        raise AssertionError("the throttle should have refused first")

    monkeypatch.setattr("django_voiceotp.verification_api.request_code", must_not_run)
    response = api.post(list_url(), {"phone_number": "0901234562"}, format="json")
    assert response.status_code == 429 and "Retry-After" in response.headers


@pytest.mark.django_db
def test_a_forwarded_address_counts_only_behind_a_trusted_proxy(voiceotp, clock):
    voiceotp(RESEND_COOLDOWN=0, SENDS_PER_IP_PER_HOUR=1)
    proxy = APIClient(REMOTE_ADDR="10.0.0.1")
    # No trusted header: a client cannot pick the address it is counted as.
    proxy.post(
        list_url(), {"phone_number": "0901234561"}, format="json", HTTP_X_FORWARDED_FOR="1.2.3.4"
    )
    assert Verification.objects.get().client_ip == "10.0.0.1"

    voiceotp(TRUSTED_PROXY_HEADER="X-Forwarded-For")
    response = proxy.post(
        list_url(),
        {"phone_number": "0901234562"},
        format="json",
        HTTP_X_FORWARDED_FOR="198.51.100.1, 203.0.113.9",  # spoofed first entry, proxy's last
    )
    assert response.status_code == 201
    assert Verification.objects.get(pk=response.json()["id"]).client_ip == "203.0.113.9"
    again = proxy.post(
        list_url(),
        {"phone_number": "0901234563"},
        format="json",
        HTTP_X_FORWARDED_FOR="198.51.100.2, 203.0.113.9",
    )
    assert again.status_code == 429


@pytest.mark.django_db
def test_a_stranger_cannot_cancel_a_pending_code(api, known_code, voiceotp, clock):
    """F12 over HTTP: a request 61 s after the victim's, from another address, waits for the
    victim's code (429) instead of making it useless; the victim's check still verifies.

    No cooldown, so that only the pending code can refuse (and Redis, in the production tier,
    expires keys by its own clock, not the test's)."""
    voiceotp(RESEND_COOLDOWN=0)
    victim = api.post(list_url(), {"phone_number": PHONE}, format="json")
    assert victim.status_code == 201
    clock.shift(timedelta(seconds=61))
    stranger = APIClient(REMOTE_ADDR="198.51.100.23")
    refused = stranger.post(list_url(), {"phone_number": PHONE}, format="json")
    assert refused.status_code == 429
    assert refused.headers["Retry-After"] == str(300 - 61)
    conforms(refused, "/verifications/", "post")
    assert Call.objects.count() == 1
    checked = api.post(check_url(victim.json()["id"]), {"code": known_code}, format="json")
    assert checked.status_code == 200


@pytest.mark.django_db
def test_no_campaign_is_503(api, voiceotp):
    voiceotp(DEFAULT_CAMPAIGN=None)
    response = api.post(list_url(), {"phone_number": PHONE}, format="json")
    assert response.status_code == 503
    conforms(response, "/verifications/", "post")


# -- checking a code -----------------------------------------------------------------------------


@pytest.mark.django_db
def test_every_failed_check_looks_the_same(api, known_code, voiceotp, time_machine):
    voiceotp(RESEND_COOLDOWN=0, MAX_ATTEMPTS=2)
    time_machine.move_to(timezone.now(), tick=False)

    def new_verification():
        response = api.post(list_url(), {"phone_number": PHONE}, format="json")
        return response.json()["id"]

    def check(pk, code):
        return api.post(check_url(pk), {"code": code}, format="json")

    answers = {}
    wrong = new_verification()
    answers["wrong"] = check(wrong, "111111")
    answers["locked"] = (check(wrong, "222222"), check(wrong, known_code))[1]
    used = new_verification()
    assert check(used, known_code).status_code == 200
    answers["used"] = check(used, known_code)
    superseded = new_verification()
    new_verification()
    answers["superseded"] = check(superseded, known_code)
    expired = new_verification()
    time_machine.shift(timedelta(seconds=301))
    answers["expired"] = check(expired, known_code)
    answers["unknown"] = check("00000000-0000-4000-8000-000000000000", known_code)

    bodies = {reason: (r.status_code, r.content) for reason, r in answers.items()}
    assert len(set(bodies.values())) == 1, bodies
    assert conforms(answers["wrong"], "/verifications/{id}/check/", "post")["verified"] is False


@pytest.mark.django_db
def test_malformed_checks_are_field_errors_and_cost_no_attempt(api, known_code):
    pk = api.post(list_url(), {"phone_number": PHONE}, format="json").json()["id"]
    for payload in ({}, {"code": "12ab56"}, {"code": ""}, {"code": "1" * 17}):
        response = api.post(check_url(pk), payload, format="json")
        assert response.status_code == 400
        assert set(conforms(response, "/verifications/{id}/check/", "post")) == {"code"}
    assert Verification.objects.get().attempts == 0
    assert api.post(check_url(pk), {"code": known_code}, format="json").status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize("typed", ["482 915", "482-915", "4 8 2 9 1 5"])
def test_a_code_may_be_typed_in_groups(api, known_code, typed):
    pk = api.post(list_url(), {"phone_number": PHONE}, format="json").json()["id"]
    response = api.post(check_url(pk), {"code": typed}, format="json")
    assert response.status_code == 200
    assert conforms(response, "/verifications/{id}/check/", "post") == {"verified": True}


@pytest.mark.django_db
def test_a_code_of_separators_only_is_a_field_error(api, known_code):
    pk = api.post(list_url(), {"phone_number": PHONE}, format="json").json()["id"]
    for code in (" - ", "482 915 1234 5678 901", "482_915"):
        response = api.post(check_url(pk), {"code": code}, format="json")
        assert response.status_code == 400
        assert conforms(response, "/verifications/{id}/check/", "post") == {
            "code": ["Enter the code you heard: digits only."]
        }
    assert Verification.objects.get().attempts == 0


@pytest.mark.django_db
def test_status_of_an_unknown_verification_is_404(api):
    response = api.get(detail_url("00000000-0000-4000-8000-000000000000"))
    assert response.status_code == 404
    conforms(response, "/verifications/{id}/", "get")
    not_a_uuid = api.get("/voiceotp/verifications/not-a-uuid/")
    assert (not_a_uuid.status_code, not_a_uuid.json()) == (404, {"detail": "Not found."})
    conforms(not_a_uuid, "/verifications/{id}/", "get")
    check = api.post("/voiceotp/verifications/not-a-uuid/check/", {"code": "1"}, format="json")
    assert (check.status_code, check.json()) == (400, CHECK_FAILED_BODY)


@pytest.mark.django_db
def test_the_status_shows_the_call_only(api):
    pk = api.post(list_url(), {"phone_number": PHONE}, format="json").json()["id"]
    body = conforms(api.get(detail_url(pk)), "/verifications/{id}/", "get")
    assert body == {
        "id": pk,
        "expires_at": body["expires_at"],
        "call_status": "pending",  # on_commit does not run here: the call is not placed
    }
    Call.objects.all().delete()  # e.g. purged: the verification stays, without its call
    assert api.get(detail_url(pk)).json()["call_status"] is None


# -- the document --------------------------------------------------------------------------------


def test_the_document_describes_every_route():
    """openapi.yaml and django_voiceotp.urls list the same paths and methods."""
    routes = {}
    for pattern in voiceotp_urls.urlpatterns:
        assert isinstance(pattern, URLPattern)
        # <str:pk> is {id} in the document; other parameters keep their name ({token}).
        path = "/" + re.sub(
            r"<(?:\w+:)?(\w+)>",
            lambda match: "{id}" if match[1] == "pk" else "{" + match[1] + "}",
            str(pattern.pattern),
        )
        view = pattern.callback.view_class
        routes[path] = {m for m in ("get", "post", "put", "patch", "delete") if hasattr(view, m)}
    documented = {
        path: {m for m in item if m in ("get", "post", "put", "patch", "delete")}
        for path, item in SPEC["paths"].items()
    }
    assert routes == documented
    jsonschema.Draft202012Validator.check_schema({"components": SPEC["components"]})
