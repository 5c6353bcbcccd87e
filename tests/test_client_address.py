"""Who is asking: the client address the limits count, behind proxies and on UNIX sockets."""

from __future__ import annotations

import logging

import pytest
from django.test import RequestFactory

from django_voiceotp import request_code
from django_voiceotp.checks import check_client_address
from django_voiceotp.exceptions import ImproperlyConfigured, RateLimited
from django_voiceotp.limits import clients
from django_voiceotp.limits.clients import UNKNOWN_CLIENT, client_ip
from django_voiceotp.models import Verification


def request(remote_addr: str = "203.0.113.7", **headers):
    return RequestFactory().post("/", REMOTE_ADDR=remote_addr, **headers)


@pytest.fixture
def warned_once(monkeypatch):
    """A process that has not warned of an unknown client yet."""
    monkeypatch.setattr(clients, "_unknown_client_warned", False)


def ids(messages) -> list[str]:
    return [message.id for message in messages]


# -- the address ---------------------------------------------------------------------------------


def test_remote_addr_is_the_client():
    assert client_ip(request("203.0.113.7")) == "203.0.113.7"
    assert client_ip(request("2001:DB8::1")) == "2001:db8::1"


@pytest.mark.parametrize("remote_addr", ["", "unix:/run/gunicorn.sock", "garbage", "1.2.3.4.5"])
def test_a_client_of_unknown_address_is_one_shared_subject(remote_addr, warned_once):
    assert client_ip(request(remote_addr)) == UNKNOWN_CLIENT


def test_no_remote_addr_at_all_is_an_unknown_client(warned_once):
    bare = RequestFactory().post("/")
    del bare.META["REMOTE_ADDR"]
    assert client_ip(bare) == UNKNOWN_CLIENT


def test_an_unknown_client_is_logged_once_per_process(caplog, warned_once):
    caplog.set_level(logging.WARNING, logger="django_voiceotp")
    for remote_addr in ("", "unix:/run/gunicorn.sock", "", "garbage"):
        client_ip(request(remote_addr))
    client_ip(request("203.0.113.7"))
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "TRUSTED_PROXY_HEADER" in warnings[0].getMessage()
    assert "REMOTE_ADDR ''" in warnings[0].getMessage()


def test_a_known_client_is_not_logged(caplog, warned_once):
    caplog.set_level(logging.WARNING, logger="django_voiceotp")
    client_ip(request("203.0.113.7"))
    assert caplog.records == []


# -- proxies and hops ----------------------------------------------------------------------------


def test_behind_one_proxy_the_last_entry_is_the_client(voiceotp):
    voiceotp(TRUSTED_PROXY_HEADER="X-Forwarded-For")
    forwarded = request("10.0.0.1", HTTP_X_FORWARDED_FOR="198.51.100.1, 203.0.113.9")
    assert client_ip(forwarded) == "203.0.113.9"


def test_behind_two_proxies_the_second_entry_from_the_right_is_the_client(voiceotp):
    """A CDN appends the client's address, the load balancer behind it the CDN's: the entry
    two places from the right is the client; the first one the client wrote itself."""
    voiceotp(TRUSTED_PROXY_HEADER="X-Forwarded-For", TRUSTED_PROXY_HOPS=2)
    forwarded = request("10.0.0.1", HTTP_X_FORWARDED_FOR="198.51.100.1, 203.0.113.9, 192.0.2.50")
    assert client_ip(forwarded) == "203.0.113.9"
    # Spaces or none after the commas: the same entries.
    assert client_ip(request("10.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.9,192.0.2.50")) == (
        "203.0.113.9"
    )


def test_a_header_shorter_than_the_hops_is_not_trusted(voiceotp):
    """With fewer entries than proxies, the request did not come through them all: even its
    last entry may be the client's own writing."""
    voiceotp(TRUSTED_PROXY_HEADER="X-Forwarded-For", TRUSTED_PROXY_HOPS=2)
    assert client_ip(request("10.0.0.1", HTTP_X_FORWARDED_FOR="198.51.100.1")) == "10.0.0.1"
    assert client_ip(request("10.0.0.1")) == "10.0.0.1"


def test_an_invalid_entry_falls_back_to_remote_addr(voiceotp, warned_once):
    voiceotp(TRUSTED_PROXY_HEADER="X-Forwarded-For", TRUSTED_PROXY_HOPS=2)
    assert client_ip(request("10.0.0.1", HTTP_X_FORWARDED_FOR="garbage, 192.0.2.50")) == (
        "10.0.0.1"
    )
    # Behind a proxy on a UNIX socket, no entry and no REMOTE_ADDR: one unknown client.
    assert client_ip(request("", HTTP_X_FORWARDED_FOR="garbage, 192.0.2.50")) == UNKNOWN_CLIENT


@pytest.mark.parametrize("hops", [0, -1, "2", 1.5, True, None])
def test_malformed_hops_are_refused_not_guessed(voiceotp, hops):
    voiceotp(TRUSTED_PROXY_HEADER="X-Forwarded-For", TRUSTED_PROXY_HOPS=hops)
    with pytest.raises(ImproperlyConfigured, match="TRUSTED_PROXY_HOPS"):
        client_ip(request("10.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.9"))


# -- request_code ---------------------------------------------------------------------------------


@pytest.mark.django_db
def test_request_code_counts_unknown_clients_together(voiceotp, clock):
    voiceotp(SENDS_PER_IP_PER_HOUR=2)
    request_code("0901234561", client_ip=UNKNOWN_CLIENT)
    request_code("0901234562", client_ip="unknown")
    with pytest.raises(RateLimited) as refused:
        request_code("0901234563", client_ip=UNKNOWN_CLIENT)
    assert refused.value.limit == "ip_hour"
    request_code("0901234563", client_ip="203.0.113.7")  # a known client counts apart
    assert list(
        Verification.objects.order_by("created_at").values_list("client_ip", flat=True)
    ) == [
        None,
        None,
        "203.0.113.7",
    ]


@pytest.mark.django_db
def test_request_code_still_refuses_other_strings():
    with pytest.raises(ValueError):
        request_code("0901234561", client_ip="unix:/run/gunicorn.sock")
    assert Verification.objects.count() == 0


# -- the system check -----------------------------------------------------------------------------


def test_no_warning_without_signs_of_a_proxy(monkeypatch):
    monkeypatch.delenv("FORWARDED_ALLOW_IPS", raising=False)
    monkeypatch.delenv("GUNICORN_CMD_ARGS", raising=False)
    assert check_client_address() == []


@pytest.mark.parametrize(
    "setting, value",
    [
        ("USE_X_FORWARDED_HOST", True),
        ("USE_X_FORWARDED_PORT", True),
        ("SECURE_PROXY_SSL_HEADER", ("HTTP_X_FORWARDED_PROTO", "https")),
    ],
)
def test_a_proxy_without_a_trusted_header_is_warned_of(settings, voiceotp, setting, value):
    setattr(settings, setting, value)
    [warning] = check_client_address()
    assert warning.id == "django_voiceotp.W030"
    assert setting in warning.msg
    voiceotp(TRUSTED_PROXY_HEADER="X-Forwarded-For")
    assert check_client_address() == []


@pytest.mark.parametrize(
    "variable, value",
    [
        ("FORWARDED_ALLOW_IPS", "10.0.0.1"),
        ("GUNICORN_CMD_ARGS", "--bind unix:/run/gunicorn.sock --workers 3"),
    ],
)
def test_a_proxy_or_socket_named_in_the_environment_is_warned_of(monkeypatch, variable, value):
    monkeypatch.setenv(variable, value)
    assert ids(check_client_address()) == ["django_voiceotp.W030"]


def test_gunicorn_on_a_port_is_not_a_socket(monkeypatch):
    monkeypatch.delenv("FORWARDED_ALLOW_IPS", raising=False)
    monkeypatch.setenv("GUNICORN_CMD_ARGS", "--bind 127.0.0.1:8000")
    assert check_client_address() == []


def test_hops_without_a_header_are_warned_of(voiceotp):
    voiceotp(TRUSTED_PROXY_HOPS=2)
    assert ids(check_client_address()) == ["django_voiceotp.W031"]
    voiceotp(TRUSTED_PROXY_HEADER="X-Forwarded-For")
    assert check_client_address() == []


@pytest.mark.parametrize("hops", [0, -3, "2", 2.0, True, None, [1], object()])
def test_malformed_hops_are_an_error(voiceotp, hops):
    voiceotp(TRUSTED_PROXY_HEADER="X-Forwarded-For", TRUSTED_PROXY_HOPS=hops)
    assert ids(check_client_address()) == ["django_voiceotp.E006"]


@pytest.mark.parametrize("value", [None, [], "VOICEOTP", 42])
def test_the_check_survives_any_voiceotp(settings, value):
    settings.VOICEOTP = value
    assert check_client_address() == []


@pytest.mark.parametrize("max_age", [-1, "90", 1.5, True, None])
def test_malformed_owner_max_age_is_an_error(voiceotp, max_age):
    voiceotp(OWNER_MAX_AGE=max_age)
    assert ids(check_client_address()) == ["django_voiceotp.E006"]


def test_owner_max_age_0_is_allowed(voiceotp):
    voiceotp(OWNER_MAX_AGE=0)
    assert check_client_address() == []
