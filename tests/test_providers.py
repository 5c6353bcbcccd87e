"""The provider seam: backends chosen by PROVIDERS, the flat keys as one Pitel provider, each call
placed, polled and heard back through the provider that placed it."""

from __future__ import annotations

import ast
import inspect
import json
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.urls import reverse
from rest_framework.test import APIClient

from django_voiceotp import client, health, providers, results, sending
from django_voiceotp.callback_urls import callback_token_for
from django_voiceotp.checks import check_providers, check_settings
from django_voiceotp.exceptions import ImproperlyConfigured, ProviderRejected, ProviderUnavailable
from django_voiceotp.models import Call, CallbackEvent, Campaign
from django_voiceotp.provider_reports import CallOutcome, CallReport, InvalidReport
from django_voiceotp.providers import base, get_provider, http, pitel, recording
from django_voiceotp.providers.pitel import PitelProvider
from django_voiceotp.providers.recording import RecordingProvider
from django_voiceotp.sandbox import SECRET_KEY

from .conftest import RECORDING_PROVIDER

PITEL = "django_voiceotp.providers.pitel.PitelProvider"
NAMED = "tests.test_providers.NamedStatusProvider"
PHONE, OTP = "0771122330", "482916"


class NamedStatusProvider(RecordingProvider):
    """A provider whose webhooks and statuses are not Pitel's: ``{"id": ..., "result": ...}``."""

    not_reached_statuses = ("no_pickup",)

    def parse_webhook(self, payload):
        if not isinstance(payload, dict) or not isinstance(payload.get("id"), str):
            raise InvalidReport("not_report", "No id.")
        result = payload.get("result")
        outcome = {"answered": CallOutcome.SUCCESS, "ringing": CallOutcome.IN_PROGRESS}.get(
            result, CallOutcome.FAILED
        )
        return CallReport(call_id=payload["id"], outcome=outcome, raw_status=str(result))


def sent_call(campaign=None) -> Call:
    call = sending.send_otp(PHONE, OTP, campaign=campaign)
    sending.send_call(call.pk)
    call.refresh_from_db()
    return call


# -- the flat keys: one Pitel provider ------------------------------------------------------------


def test_without_providers_the_flat_keys_are_one_pitel_provider_named_pitel(settings):
    provider = get_provider()
    assert isinstance(provider, PitelProvider)
    assert provider.name == "pitel"
    assert provider.api_url == settings.VOICEOTP["API_URL"]
    assert provider.secret_key == settings.VOICEOTP["SECRET_KEY"]
    assert get_provider("pitel") is provider  # one instance per name


def test_the_client_is_the_pitel_backend_under_its_old_name():
    assert client.ProviderClient is PitelProvider
    alone = client.ProviderClient(api_url="https://api.provider.example", secret_key="k")
    assert (alone.api_url, alone.secret_key) == ("https://api.provider.example/", "k")


def test_a_provider_is_made_again_when_the_settings_change(voiceotp):
    before = get_provider()
    voiceotp(API_URL="https://other.provider.example/")
    after = get_provider()
    assert after is not before
    assert after.api_url == "https://other.provider.example/"


def test_an_entry_gives_its_options_and_the_flat_keys_the_rest(voiceotp):
    voiceotp(
        AUTH_SCHEME="Bearer",
        PROVIDERS={
            "main": {"BACKEND": PITEL, "API_URL": "https://main.example/", "SECRET_KEY": "main"}
        },
    )
    provider = get_provider()
    assert provider.name == "main"
    assert (provider.api_url, provider.secret_key) == ("https://main.example/", "main")
    assert provider.option("AUTH_SCHEME") == "Bearer"
    assert repr(provider) == "<PitelProvider 'main'>"  # the name only: options hold credentials


def test_a_required_option_missing_from_an_entry_is_named_exactly(voiceotp):
    voiceotp(
        SECRET_KEY=None, PROVIDERS={"main": {"BACKEND": PITEL, "API_URL": "https://main.example/"}}
    )
    with pytest.raises(ImproperlyConfigured, match=r"\['PROVIDERS'\]\['main'\]\['SECRET_KEY'\]"):
        get_provider().secret_key  # noqa: B018


@pytest.mark.parametrize(
    ("providers_setting", "name"),
    [
        ({"pitel": {"BACKEND": PITEL}}, "stringee"),
        ({"pitel": {"BACKEND": "django_voiceotp.models.Call"}}, "pitel"),
        ({"pitel": {}}, "pitel"),
        ("pitel", None),
    ],
)
def test_an_unusable_provider_is_improperly_configured(voiceotp, providers_setting, name):
    voiceotp(PROVIDERS=providers_setting)
    with pytest.raises(ImproperlyConfigured):
        get_provider(name)


# -- calls placed, polled and heard back through their provider -----------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_pitel_entry_places_calls_at_the_url_it_names(sandbox, live_server, voiceotp):
    voiceotp(
        API_URL="http://flat.invalid/",  # the flat keys are not read for an entry's options
        PROVIDERS={
            "pitel": {
                "BACKEND": PITEL,
                "API_URL": f"{live_server.url}/sandbox/",
                "SECRET_KEY": SECRET_KEY,
                "DEFAULT_CAMPAIGN": "c78af",
            }
        },
    )
    call = sent_call()
    assert call.status == Call.Status.SENT
    assert call.provider == "pitel"
    assert sandbox.find_call(call.provider_call_id).phone_number == PHONE


@pytest.mark.django_db
def test_calls_and_new_campaigns_record_their_provider(voiceotp):
    voiceotp(PROVIDERS={"voice": {"BACKEND": RECORDING_PROVIDER, "DEFAULT_CAMPAIGN": "vc1"}})
    call = sent_call()
    assert Campaign.objects.get(campaign_id="vc1").provider == "voice"
    placed = get_provider("voice").placed
    assert (call.provider, call.status) == ("voice", "sent")
    assert [(p.call_id, p.campaign_id, p.phone_number, p.otp) for p in placed] == [
        (call.provider_call_id, "vc1", PHONE, OTP)
    ]
    assert OTP not in repr(placed)


@pytest.mark.django_db
def test_each_call_is_placed_by_its_campaign_s_provider(voiceotp):
    voiceotp(
        PROVIDERS={
            "first": {"BACKEND": RECORDING_PROVIDER, "DEFAULT_CAMPAIGN": "c1"},
            "second": {"BACKEND": RECORDING_PROVIDER},
        }
    )
    campaign = Campaign.objects.create(campaign_id="c2", provider="second")
    call = sent_call(campaign)
    assert call.provider == "second"
    assert [p.call_id for p in get_provider("second").placed] == [call.provider_call_id]
    assert get_provider("first").placed == []


@pytest.mark.django_db
def test_a_provider_s_failures_are_classified_as_the_client_s_were(recording_provider):
    recording_provider.failures = [ProviderUnavailable("down")]
    call = sending.send_otp(PHONE, OTP)
    assert sending.send_call(call.pk) is not None  # a retry, in some seconds
    call.refresh_from_db()
    assert call.status == Call.Status.PENDING

    recording_provider.failures = [ProviderRejected("no such campaign")]
    other = sent_call()
    assert (other.status, other.failure_code) == ("failed", Call.FailureCode.REJECTED)


@pytest.mark.django_db
def test_a_call_is_polled_at_its_provider(recording_provider):
    call = sent_call()
    recording_provider.reports[call.provider_call_id] = CallReport(
        call_id=call.provider_call_id, outcome=CallOutcome.SUCCESS, raw_status="Success"
    )
    results.poll_call(call.pk, force=True)
    call.refresh_from_db()
    assert call.status == Call.Status.SUCCESS


class CallbacksOnlyProvider(RecordingProvider):
    supports_polling = False

    def get_report(self, call_id):
        raise AssertionError("a provider without polling is never asked for a report")


@pytest.mark.django_db
def test_a_provider_without_polling_is_not_asked_and_its_call_times_out(voiceotp, clock):
    voiceotp(
        POLL_SCHEDULE=(15, 30),
        PROVIDERS={
            "pitel": {
                "BACKEND": "tests.test_providers.CallbacksOnlyProvider",
                "DEFAULT_CAMPAIGN": "c78af",
            }
        },
    )
    call = sent_call()
    results.poll_call(call.pk, force=True)
    call.refresh_from_db()
    assert (call.status, call.poll_count) == ("sent", 1)  # the schedule goes on
    clock.shift(timedelta(seconds=31))
    results.poll_call(call.pk)
    call.refresh_from_db()
    assert (call.status, call.failure_code) == ("failed", Call.FailureCode.TIMEOUT)


@pytest.mark.django_db
def test_not_reached_is_what_the_call_s_provider_says(voiceotp):
    voiceotp(PROVIDERS={"named": {"BACKEND": NAMED, "DEFAULT_CAMPAIGN": "n1"}})
    reached_not, failed = sent_call(), sent_call()
    for call, status in ((reached_not, "no_pickup"), (failed, "NOANWSER")):
        results.apply_report(call, CallReport(call.provider_call_id, CallOutcome.FAILED, status))
    reached_not.refresh_from_db()
    failed.refresh_from_db()
    assert reached_not.failure_code == Call.FailureCode.NOT_REACHED
    assert failed.failure_code == Call.FailureCode.PROVIDER_FAILED  # Pitel's word, not this one's


def post_callback(call: Call, body: dict):
    url = reverse("django_voiceotp:callback", kwargs={"token": callback_token_for(call)})
    return APIClient().post(url, json.dumps(body), content_type="application/json")


@pytest.mark.django_db(transaction=True)
def test_the_one_callback_door_reads_each_body_with_the_call_s_provider(voiceotp):
    voiceotp(
        PROVIDERS={
            "pitel": {"BACKEND": RECORDING_PROVIDER, "DEFAULT_CAMPAIGN": "c78af"},
            "named": {"BACKEND": NAMED},
        }
    )
    named_call = sent_call(Campaign.objects.create(campaign_id="n1", provider="named"))
    pitel_call = sent_call()
    named_body = {"id": named_call.provider_call_id, "result": "answered"}

    response = post_callback(named_call, named_body)
    assert (response.status_code, response.json()["verdict"]) == (200, "applied")
    named_call.refresh_from_db()
    assert named_call.status == Call.Status.SUCCESS

    # The same shape means nothing to the Pitel call's backend: refused, stored, never a 500.
    response = post_callback(pitel_call, {"id": pitel_call.provider_call_id, "result": "answered"})
    assert response.status_code == 400
    event = CallbackEvent.objects.get(call=pitel_call)
    assert (event.verdict, event.reason) == ("malformed", "not_report")
    pitel_call.refresh_from_db()
    assert pitel_call.status == Call.Status.SENT


# -- voiceotp_check and the health probe ----------------------------------------------------------


@pytest.mark.django_db
def test_voiceotp_check_s_round_trip_and_the_health_probe_ask_the_provider(
    recording_provider, capsys
):
    call_command("voiceotp_check")
    out = capsys.readouterr().out
    assert "access token obtained for the recording provider" in out
    assert "provider: pitel (RecordingProvider)" in out
    assert recording_provider.authentications == 1
    assert health.probe_provider().status == health.OK


# -- the check ------------------------------------------------------------------------------------


HOSTILE_PROVIDERS = [
    "pitel",
    [],
    {},
    {1: {"BACKEND": PITEL}},
    {"": {"BACKEND": PITEL}},
    {"x" * 33: {"BACKEND": PITEL}},
    {"pitel": None},
    {"pitel": {"BACKEND": 5}},
    {"pitel": {"BACKEND": "not a path"}},
    {"pitel": {"BACKEND": "no_such_module.Provider"}},
    {"pitel": {"BACKEND": "django_voiceotp.models.Call"}},
    {"pitel": {"BACKEND": "django_voiceotp.providers.get_provider"}},
    {"pitel": {"BACKEND": PITEL, "SECRET_KEY": "s3cret-in-entry"}},  # no API_URL
    {"pitel": {"BACKEND": PITEL, "API_URL": "https://a.example/"}, "x": "s3cret-in-entry"},
]


@pytest.mark.parametrize("value", HOSTILE_PROVIDERS, ids=range(len(HOSTILE_PROVIDERS)))
def test_a_malformed_providers_setting_is_e060_and_never_shows_a_secret(voiceotp, value):
    voiceotp(PROVIDERS=value)
    errors = check_providers()
    assert errors and {error.id for error in errors} == {"django_voiceotp.E060"}
    assert not any("s3cret" in error.msg for error in errors)


def test_a_well_formed_providers_setting_passes_and_replaces_the_flat_required_keys(voiceotp):
    voiceotp(
        API_URL=None,
        SECRET_KEY=None,
        PROVIDERS={"pitel": {"BACKEND": PITEL, "API_URL": "https://a.example/", "SECRET_KEY": "k"}},
    )
    assert check_providers() == []
    assert [error.id for error in check_settings()] == []


def test_without_providers_the_flat_keys_are_still_required(voiceotp):
    voiceotp(API_URL=None)
    assert "django_voiceotp.E002" in [error.id for error in check_settings()]
    assert check_providers() == []


# -- the admin ------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_admin_filters_calls_and_campaigns_by_provider(admin_client):
    pitel_campaign = Campaign.objects.create(campaign_id="p1")
    other_campaign = Campaign.objects.create(campaign_id="o1", provider="other")
    Call.objects.create(campaign=pitel_campaign, phone_number=PHONE)
    other_call = Call.objects.create(campaign=other_campaign, phone_number=PHONE, provider="other")
    calls = admin_client.get(
        reverse("admin:django_voiceotp_call_changelist"), {"provider": "other"}
    )
    assert [call.pk for call in calls.context["cl"].result_list] == [other_call.pk]
    campaigns = admin_client.get(
        reverse("admin:django_voiceotp_campaign_changelist"), {"provider": "other"}
    )
    assert [c.pk for c in campaigns.context["cl"].result_list] == [other_campaign.pk]


# -- the boundaries -------------------------------------------------------------------------------


@pytest.mark.parametrize("module", [providers, base, http, pitel, recording])
def test_the_backends_know_no_models(module):
    tree = ast.parse(inspect.getsource(module))
    imported = {node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert not {name for name in imported if name.endswith("models")}, module.__name__


@pytest.mark.django_db
def test_a_campaign_s_provider_is_chosen_among_those_configured(admin_client, voiceotp):
    voiceotp(PROVIDERS={"first": {"BACKEND": RECORDING_PROVIDER}, "second": {"BACKEND": NAMED}})
    add = reverse("admin:django_voiceotp_campaign_add")
    admin_client.post(add, {"campaign_id": "a1", "is_active": "on"})
    admin_client.post(add, {"campaign_id": "a2", "provider": "second", "is_active": "on"})
    refused = admin_client.post(add, {"campaign_id": "a3", "provider": "typo"})
    assert refused.status_code == 200 and "provider" in refused.context["adminform"].form.errors
    stored = dict(Campaign.objects.values_list("campaign_id", "provider"))
    assert stored == {"a1": "first", "a2": "second"}
