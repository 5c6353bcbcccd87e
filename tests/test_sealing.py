"""The passcode sealed at rest: never in clear in the database file, its rows or the SQL sent."""

from __future__ import annotations

import importlib
import secrets
from pathlib import Path

import pytest
from django.apps import apps
from django.db import connection
from django.test.utils import CaptureQueriesContext

from django_voiceotp import send_otp
from django_voiceotp.models import Call, Campaign
from django_voiceotp.providers.pitel import PitelProvider
from django_voiceotp.sealing import PasscodeUnreadable, open_otp, seal_otp

migration = importlib.import_module("django_voiceotp.migrations.0004_sealed_otp_redial_fallback")


def fresh_passcode() -> str:
    # Eight random digits: no other test's passcode left in a free page of the file matches it.
    return f"{secrets.randbelow(10**8):08d}"


def test_a_sealed_passcode_opens_and_shows_nothing_of_itself():
    otp = fresh_passcode()
    sealed = seal_otp(otp)
    # Booleans, computed first: a failing assertion must not print the passcode.
    shows_itself, opens_to_itself = otp in sealed, open_otp(sealed) == otp
    same_each_time = seal_otp(otp) == sealed
    assert (shows_itself, opens_to_itself) == (False, True)
    assert not same_each_time  # a fresh nonce each time: equal codes look different
    assert seal_otp("") == ""


def test_an_altered_passcode_is_refused(settings):
    sealed = seal_otp("482915")
    altered = sealed[:-6] + ("A" if sealed[-6] != "A" else "B") + sealed[-5:]
    with pytest.raises(PasscodeUnreadable) as raised:
        open_otp(altered)
    assert "482915" not in str(raised.value) and sealed not in str(raised.value)
    with pytest.raises(PasscodeUnreadable):
        open_otp("482915")  # stored in clear by code that bypassed the app


def test_secret_key_fallbacks_open_what_the_old_key_sealed(settings):
    sealed = seal_otp("482915")
    settings.SECRET_KEY, old_key = "a-new-key-for-the-site", settings.SECRET_KEY
    with pytest.raises(PasscodeUnreadable):
        open_otp(sealed)
    settings.SECRET_KEY_FALLBACKS = [old_key]
    assert open_otp(sealed) == "482915"
    # Sealed anew under the new key, which alone opens it then.
    resealed = seal_otp("482915")
    settings.SECRET_KEY_FALLBACKS = []
    assert open_otp(resealed) == "482915"


def app_rows_hold(otp: str) -> bool:
    """Whether any value of any row of the app's models holds ``otp``."""
    for model in apps.get_app_config("django_voiceotp").get_models():
        for row in model.objects.values_list():
            if any(otp in str(value) for value in row):
                return True
    return False


def database_file_holds(otp: str) -> bool:
    connection.ensure_connection()
    path = Path(connection.settings_dict["NAME"])
    data = b"".join(
        candidate.read_bytes()
        for candidate in (path, Path(f"{path}-journal"), Path(f"{path}-wal"))
        if candidate.exists()
    )
    return otp.encode() in data


@pytest.mark.django_db(transaction=True)
def test_the_passcode_is_nowhere_in_clear_while_at_the_provider_and_after(sandbox, monkeypatch):
    otp = fresh_passcode()
    seen_at_the_provider = []
    real_start_call = PitelProvider.start_call

    def start_call_and_look(self, campaign_id, phone_number, passcode, callback_url=None):
        # The provider is being asked now: the call is stored and committed, its send in flight.
        seen_at_the_provider.append((passcode == otp, app_rows_hold(otp), database_file_holds(otp)))
        return real_start_call(self, campaign_id, phone_number, passcode, callback_url)

    monkeypatch.setattr(PitelProvider, "start_call", start_call_and_look)
    with CaptureQueriesContext(connection) as queries:
        call = send_otp("0771122330", otp)
    # Counts and booleans only: a failing assertion must not print the passcode.
    queries_in_clear = sum(otp in query["sql"] for query in queries.captured_queries)
    assert seen_at_the_provider == [(True, False, False)]
    assert (queries_in_clear, len(queries.captured_queries) > 0) == (0, True)
    call.refresh_from_db()
    assert call.status == Call.Status.SENT
    after = (app_rows_hold(otp), database_file_holds(otp))
    assert after == (False, False)
    # What the provider was given is the passcode itself.
    given = sandbox.requests_for("voiceotp")[0].body["contact"]["otp"] == otp
    assert given


@pytest.mark.django_db
def test_the_migration_seals_passcodes_stored_in_clear():
    campaign = Campaign.objects.create(campaign_id="c78af")
    in_clear = Call.objects.create(campaign=campaign, phone_number="0771122330", otp="482915")
    sealed = Call.objects.create(campaign=campaign, phone_number="0771122331", otp=seal_otp("7391"))
    erased = Call.objects.create(campaign=campaign, phone_number="0771122332", otp="")
    migration.seal_stored_passcodes(apps, connection.schema_editor())
    for call in (in_clear, sealed, erased):
        call.refresh_from_db()
    assert (in_clear.otp.isdigit(), open_otp(in_clear.otp)) == (False, "482915")
    assert open_otp(sealed.otp) == "7391"
    assert erased.otp == ""
    migration.open_sealed_passcodes(apps, connection.schema_editor())
    in_clear.refresh_from_db()
    assert in_clear.otp == "482915"
