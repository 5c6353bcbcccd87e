"""The eSMS fallback sender against the simulated eSMS gateway over loopback HTTP, in eager mode.

The voice calls fail at the Pitel sandbox; the passcode then goes by SMS to the eSMS sandbox
(``django_voiceotp.sandbox.esms``, written from eSMS's documentation alone).
"""

from __future__ import annotations

import time

import pytest
from django.core.management import call_command

from django_voiceotp import limits, request_code, send_otp, verify_code
from django_voiceotp.checks.delivery import check_delivery_settings
from django_voiceotp.models import Call
from django_voiceotp.sandbox import esms as esms_sandbox
from django_voiceotp.senders import esms

pytestmark = pytest.mark.django_db(transaction=True)

PHONE = "0771122330"
OTP = "482915"
SENDER = "django_voiceotp.senders.esms.send_sms"


@pytest.fixture
def gateway(sandbox, live_server, voiceotp, clock):
    """Calls that fail at once at the voice sandbox, no redial, the eSMS sender in Sandbox mode."""
    from django_voiceotp.sandbox.esms.state import gateway

    gateway.reset()
    sandbox.configure(call_duration=0)
    sandbox.script(PHONE, ["Fail"])
    voiceotp(
        REDIAL_MAX=0,
        FALLBACK_SENDER=SENDER,
        ESMS={
            "API_URL": f"{live_server.url}/esms-sandbox/",
            "API_KEY": esms_sandbox.API_KEY,
            "SECRET_KEY": esms_sandbox.SECRET_KEY,
            "BRANDNAME": esms_sandbox.BRANDNAME,
            "SANDBOX": True,
            "TIMEOUT": 2.0,
        },
    )
    yield gateway
    gateway.reset()


def gateway_sandbox_script(phone_number):
    from django_voiceotp.sandbox.state import provider

    provider.script(phone_number, ["Fail"])


def esms_settings(voiceotp, settings, **values):
    voiceotp(ESMS={**settings.VOICEOTP["ESMS"], **values})


def poll_now():
    call_command("voiceotp_poll", stdout=open("/dev/null", "w"))  # noqa: SIM115


def sends(gateway) -> list:
    return [body for endpoint, body in gateway.requests if endpoint == "send"]


def no_secret_in(text: str) -> bool:
    return all(
        secret not in text for secret in (OTP, esms_sandbox.SECRET_KEY, esms_sandbox.API_KEY)
    )


def test_the_same_passcode_reaches_the_sms_and_verifies(gateway, caplog):
    with caplog.at_level("DEBUG", logger="django_voiceotp"):
        verification = request_code(PHONE)
        poll_now()
    [message] = gateway.listing(PHONE)
    call = Call.objects.get(pk=verification.call_id)
    code = message["Content"].split("la ")[1][:6]  # "Ma xac thuc cua ban la 123456. ..."
    assert verify_code(PHONE, code, verification=verification) is True
    assert (call.status, call.fallback_status, call.fallback_attempts, call.otp) == (
        "failed",
        "sent",
        1,
        "",
    )
    [body] = sends(gateway)
    assert {key: body[key] for key in ("SmsType", "Sandbox", "IsUnicode", "Brandname")} == {
        "SmsType": "2",
        "Sandbox": "1",
        "IsUnicode": "0",
        "Brandname": esms_sandbox.BRANDNAME,
    }
    assert (message["RequestId"], message["Sandbox"]) == (esms.request_id_for(call), True)
    assert "SMS accepted by eSMS" in caplog.text
    assert no_secret_in(caplog.text) is True


def test_the_message_setting_and_an_international_number(gateway, voiceotp, settings):
    esms_settings(voiceotp, settings, MESSAGE="Mã của bạn: {code}", IS_UNICODE=True)
    voiceotp(PHONE_FORMAT="e164")
    gateway_sandbox_script("+84771122330")
    call = send_otp(PHONE, OTP)
    assert call.phone_number == "+84771122330"
    poll_now()
    [message] = gateway.listing()
    assert (message["Phone"], message["Content"] == f"Mã của bạn: {OTP}") == (PHONE, True)
    assert message["IsUnicode"] is True


def test_a_retry_after_a_timeout_sends_once(gateway, voiceotp, settings, caplog):
    # Outside Sandbox mode: eSMS keeps RequestIds of real messages only.
    esms_settings(voiceotp, settings, SANDBOX=False, TIMEOUT=0.5)
    gateway.inject("slow", seconds=1.5)  # sent, then answered after the sender gave up
    with caplog.at_level("INFO", logger="django_voiceotp"):
        call = send_otp(PHONE, OTP)
        poll_now()
    call.refresh_from_db()
    first, retry = sends(gateway)
    assert first["RequestId"] == retry["RequestId"] == esms.request_id_for(call)
    assert len(gateway.listing(PHONE)) == 1
    assert (call.fallback_status, call.fallback_attempts) == ("sent", 2)
    assert "FallbackUnavailable" in caplog.text
    assert "already accepted by eSMS on an earlier attempt" in caplog.text
    assert no_secret_in(caplog.text) is True


def test_a_gateway_error_is_retried_and_sends_once(gateway):
    gateway.inject("http_error", status=503)
    call = send_otp(PHONE, OTP)
    poll_now()
    call.refresh_from_db()
    assert (len(sends(gateway)), len(gateway.listing(PHONE))) == (2, 1)
    assert (call.fallback_status, call.fallback_attempts) == ("sent", 2)


@pytest.mark.parametrize(
    "values, code",
    [
        ({"SECRET_KEY": "not-the-secret-key"}, "101"),
        ({"BRANDNAME": "NOTREGISTERED"}, "104"),
    ],
)
def test_a_final_refusal_is_not_retried(gateway, voiceotp, settings, caplog, values, code):
    esms_settings(voiceotp, settings, **values)
    with caplog.at_level("INFO", logger="django_voiceotp"):
        call = send_otp(PHONE, OTP)
        poll_now()
        poll_now()
    call.refresh_from_db()
    assert len(sends(gateway)) == 1
    assert gateway.listing() == []
    assert (call.fallback_status, call.fallback_attempts, call.otp) == ("failed", 1, "")
    # The app's records: django.request's may tell of an earlier test's slow answer, ending now.
    errors = [
        record.getMessage()
        for record in caplog.records
        if record.levelname == "ERROR" and record.name.startswith("django_voiceotp")
    ]
    assert [f"({code})" in message for message in errors] == [True]
    assert (no_secret_in(caplog.text), "not-the-secret-key" in caplog.text) == (True, False)


def test_an_unreachable_gateway_is_retried_then_given_up(gateway, voiceotp, settings):
    esms_settings(voiceotp, settings, API_URL="http://127.0.0.1:9/")  # the discard port: refused
    call = send_otp(PHONE, OTP)
    poll_now()
    call.refresh_from_db()
    assert (call.fallback_status, call.fallback_attempts, call.otp) == ("failed", 4, "")


def test_the_limits_count_the_fallback(gateway, voiceotp):
    voiceotp(FALLBACKS_PER_HOUR=1)
    first = send_otp(PHONE, OTP)
    poll_now()
    gateway_sandbox_script("0771122331")
    second = send_otp("0771122331", OTP)
    poll_now()
    first.refresh_from_db()
    second.refresh_from_db()
    assert [message["Phone"] for message in gateway.listing()] == [PHONE]
    assert (first.fallback_status, second.fallback_status) == ("sent", "")
    assert second.failure_reason == limits.SPENDING_LIMIT_REASON


# -- settings ------------------------------------------------------------------------------------


def e060(voiceotp, value) -> list[str]:
    voiceotp(ESMS=value, FALLBACK_SENDER=SENDER)
    return [message.msg for message in check_delivery_settings() if message.id.endswith("E061")]


@pytest.mark.parametrize(
    "value",
    [
        42,
        "secret",
        ["secret"],
        {1: 2},
        {"API_KEY": "k"},
        {"API_KEY": "k", "SECRET_KEY": "secret-value", "BRANDNAME": "B", "UNKNOWN": 1},
        {"API_KEY": "k", "SECRET_KEY": "secret-value"},  # SMS_TYPE 2 without a brandname
        {"API_KEY": "k", "SECRET_KEY": "secret-value", "SMS_TYPE": 8},
        {"API_KEY": "k", "SECRET_KEY": "secret-value", "SMS_TYPE": "8", "TIMEOUT": "x"},
        {"API_KEY": "k", "SECRET_KEY": "secret-value", "SMS_TYPE": "8", "MESSAGE": "no code"},
        {"API_KEY": "k", "SECRET_KEY": "secret-value", "SMS_TYPE": "8", "MESSAGE": "{code}{x}"},
        {"API_KEY": "k", "SECRET_KEY": "secret-value", "SMS_TYPE": "8", "MESSAGE": "Mã {code}"},
        {"API_KEY": "k", "SECRET_KEY": "secret-value", "SMS_TYPE": "8", "API_URL": "ftp://x"},
        {"API_KEY": "k", "SECRET_KEY": "secret-value", "SMS_TYPE": "8", "SANDBOX": "yes"},
    ],
)
def test_a_malformed_esms_setting_is_reported_without_its_value(voiceotp, value):
    [message] = e060(voiceotp, value)
    assert ("secret" in message.split(" it is ")[1], "it is a " in message) == (False, True)


@pytest.mark.parametrize(
    "value",
    [
        {"API_KEY": "k", "SECRET_KEY": "s", "BRANDNAME": "B"},
        {"API_KEY": "k", "SECRET_KEY": "s", "SMS_TYPE": "8", "TIMEOUT": [3, 10]},
        {
            "API_KEY": "k",
            "SECRET_KEY": "s",
            "SMS_TYPE": "8",
            "MESSAGE": "Mã {code}",
            "IS_UNICODE": True,
        },
    ],
)
def test_a_well_formed_esms_setting_passes(voiceotp, value):
    assert e060(voiceotp, value) == []


def test_no_esms_setting_is_needed_by_another_sender(voiceotp):
    voiceotp(ESMS={}, FALLBACK_SENDER="django_voiceotp.senders.console_sender")
    assert check_delivery_settings_e060() == []


def test_the_sender_without_settings_is_reported_and_refuses_without_a_request(
    gateway, voiceotp, caplog
):
    voiceotp(ESMS={})
    assert len(check_delivery_settings_e060()) == 1
    with caplog.at_level("INFO", logger="django_voiceotp"):
        call = send_otp(PHONE, OTP)
        poll_now()
    call.refresh_from_db()
    assert (sends(gateway), call.fallback_status, call.fallback_attempts) == ([], "failed", 1)
    assert "refused on attempt 1 (E061)" in caplog.text


def check_delivery_settings_e060() -> list[str]:
    return [message.msg for message in check_delivery_settings() if message.id.endswith("E061")]


# -- delivery reports ----------------------------------------------------------------------------


def wait_for_report(gateway) -> list:
    """Readiness, not a measure: the gateway reports from a thread of its own."""
    deadline = time.monotonic() + 10
    while not gateway.callbacks and time.monotonic() < deadline:
        time.sleep(0.05)
    return gateway.callbacks


@pytest.mark.parametrize(
    "phone, logged", [(PHONE, "was delivered"), ("0771122339", "was not delivered")]
)
def test_the_delivery_report_reaches_the_site_and_is_logged(
    gateway, voiceotp, settings, callbacks_to, caplog, phone, logged
):
    esms_settings(voiceotp, settings, SANDBOX=False)
    gateway_sandbox_script(phone)
    with caplog.at_level("INFO", logger="django_voiceotp"):
        call = send_otp(phone, OTP)
        poll_now()
        [message] = gateway.listing()
        assert message["CallbackUrl"].startswith(f"{callbacks_to}/voiceotp/esms/reports/")
        assert wait_for_report(gateway) == [(message["SMSID"], "200")]
    assert f"Call {call.pk}: the fallback SMS {message['SMSID']} {logged}" in caplog.text
    assert no_secret_in(caplog.text) is True


def test_no_report_url_without_a_callback_base_url(gateway):
    send_otp(PHONE, OTP)
    poll_now()
    [body] = sends(gateway)
    assert "CallbackUrl" not in body


@pytest.fixture
def report_url(gateway, voiceotp):
    from django_voiceotp.models import Campaign
    from django_voiceotp.senders.esms_reports import report_url_for

    voiceotp(CALLBACK_BASE_URL="https://app.example.com")
    call = Call.objects.create(
        campaign=Campaign.objects.create(campaign_id="c1"), phone_number=PHONE
    )
    request_id = esms.request_id_for(call)
    url = report_url_for(call, request_id).removeprefix("https://app.example.com")
    return url, request_id


REPORT = {"SMSID": "dc712784-9c5f", "SendStatus": "5", "SendSuccess": "1", "SendFailed": "0"}


@pytest.mark.parametrize(
    "query, status",
    [
        ({}, 403),
        ({"RequestId": "voiceotp-1-1"}, 403),
        ({"SMSID": "x" * 65}, 400),
        ({"SMSID": "<script>"}, 400),
        ({"SendStatus": "five"}, 400),
        ({"SendSuccess": "1e9"}, 400),
        ({"SendFailed": "-1"}, 400),
        ({"SendStatus": "\x00"}, 400),
        ({"SendStatus": "2"}, 200),
    ],
)
def test_a_hostile_report_gets_a_4xx(client, report_url, query, status):
    url, request_id = report_url
    base = {**REPORT, "RequestId": request_id}
    if query == {}:
        base.pop("RequestId")
    response = client.get(url, {**base, **query})
    assert response.status_code == status


def test_a_report_with_a_forged_or_altered_token_or_method_is_refused(client, report_url):
    url, request_id = report_url
    query = {**REPORT, "RequestId": request_id}
    assert client.get(url, query).json() == {"verdict": "delivered"}
    assert client.get(url.replace("/reports/", "/reports/x"), query).status_code == 404
    assert client.get("/voiceotp/esms/reports/1:2:3/", query).status_code == 404
    assert client.post(url, query).status_code == 405
    Call.objects.all().delete()
    assert client.get(url, query).status_code == 404


# -- the delivery, stored on the call the fallback belongs to ------------------------------------


def wait_for_delivery(call: Call) -> Call:
    """Readiness, not a measure: the report comes from the gateway's own thread."""
    deadline = time.monotonic() + 10
    call.refresh_from_db()
    while call.fallback_delivery in ("", "waiting") and time.monotonic() < deadline:
        time.sleep(0.05)
        call.refresh_from_db()
    return call


@pytest.mark.parametrize("phone, delivery", [(PHONE, "delivered"), ("0771122339", "undelivered")])
def test_the_delivery_report_is_stored_and_shown_read_only_in_the_admin(
    gateway, voiceotp, settings, callbacks_to, admin_client, phone, delivery
):
    esms_settings(voiceotp, settings, SANDBOX=False)
    gateway_sandbox_script(phone)
    call = send_otp(phone, OTP)
    poll_now()
    [message] = gateway.listing()
    call = wait_for_delivery(call)
    assert (call.fallback_status, call.fallback_delivery, call.fallback_message_id) == (
        "sent",
        delivery,
        message["SMSID"],
    )
    page = admin_client.get(f"/admin/django_voiceotp/call/{call.pk}/change/").content.decode()
    shown = page.replace("\n", "").replace(" ", "")
    label = Call.FallbackDelivery(delivery).label.replace(" ", "")
    assert f'<divclass="readonly">{label}</div>' in shown
    assert f'<divclass="readonly">{message["SMSID"]}</div>' in shown
    assert 'name="fallback_delivery"' not in page and 'name="fallback_message_id"' not in page


def test_an_accepted_sms_is_waiting_with_its_smsid(gateway):
    call = send_otp(PHONE, OTP)
    poll_now()  # the Sandbox mode: accepted, never reported
    [message] = gateway.listing()
    call.refresh_from_db()
    assert (call.fallback_delivery, call.fallback_message_id) == ("waiting", message["SMSID"])


@pytest.fixture
def report(client, report_url):
    url, request_id = report_url
    call = Call.objects.get()

    def get(**query):
        response = client.get(url, {**REPORT, "RequestId": request_id, **query})
        call.refresh_from_db()
        return response.status_code, call.fallback_delivery, call.fallback_message_id

    return get


def test_a_delivered_or_refused_report_is_final(report):
    assert report(SendStatus="2") == (200, "waiting", REPORT["SMSID"])
    assert report(SendStatus="4", SMSID="other-id") == (200, "undelivered", REPORT["SMSID"])
    assert report() == (200, "undelivered", REPORT["SMSID"])  # a later report changes nothing
    assert report(SendStatus="7") == (200, "undelivered", REPORT["SMSID"])


def test_a_sent_report_with_failures_is_undelivered(report):
    assert report(SendSuccess="0", SendFailed="1") == (200, "undelivered", REPORT["SMSID"])


@pytest.mark.parametrize(
    "query",
    [
        {"SMSID": "x" * 65},
        {"SMSID": "<script>"},
        {"SMSID": "a\x00b"},
        {"SendStatus": "5" * 3},
        {"SendStatus": "\u0665"},  # an Arabic-Indic five: a digit to str.isdigit, not here
        {"SendSuccess": "9" * 40},
        {"RequestId": "voiceotp-1-1"},
    ],
)
def test_a_hostile_report_stores_nothing(report, query):
    status, delivery, message_id = report(**query)
    assert 400 <= status < 500
    assert (delivery, message_id) == ("", "")


def test_a_delivery_that_cannot_be_stored_leaves_the_sms_sent_once(gateway, monkeypatch, caplog):
    from django.db import OperationalError

    def locked(*args, **kwargs):
        raise OperationalError("database is locked")

    monkeypatch.setattr(esms, "store_delivery", locked)
    call = send_otp(PHONE, OTP)
    poll_now()
    call.refresh_from_db()
    assert (call.fallback_status, call.fallback_attempts, call.fallback_delivery) == ("sent", 1, "")
    assert len(sends(gateway)) == 1
    assert "the fallback SMS's delivery could not be stored" in caplog.text
