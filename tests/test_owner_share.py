"""A number's owner: recognised by a signed cookie or a past address, and the share of the
number's daily quota that strangers cannot spend (F12)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from django_voiceotp import request_code
from django_voiceotp import verification as verification_module
from django_voiceotp.exceptions import RateLimited
from django_voiceotp.limits.clients import OWNER_COOKIE, is_owner
from django_voiceotp.models import Verification

pytestmark = pytest.mark.django_db

PHONE = "0771122330"
OTHER_PHONE = "0901234567"
CODE = "482915"
OWNER_ADDRESS = "203.0.113.7"


@pytest.fixture(autouse=True)
def known_code(monkeypatch):
    monkeypatch.setattr(verification_module, "generate_code", lambda length=None: CODE)
    return CODE


def list_url() -> str:
    return reverse("django_voiceotp:verification-list")


def check_url(pk) -> str:
    return reverse("django_voiceotp:verification-check", kwargs={"pk": pk})


def ask(client: APIClient, number: str = PHONE):
    return client.post(list_url(), {"phone_number": number}, format="json")


def verify(client: APIClient, number: str = PHONE):
    """Ask for a code and check it right: the client becomes the number's owner."""
    asked = ask(client, number)
    assert asked.status_code == 201, asked.content
    checked = client.post(check_url(asked.json()["id"]), {"code": CODE}, format="json")
    assert checked.status_code == 200
    return checked


def stranger(index: int) -> APIClient:
    return APIClient(REMOTE_ADDR=f"198.51.100.{index}")


def request_with_cookies(client: APIClient, remote_addr: str = "192.0.2.99"):
    """A request carrying ``client``'s cookies, from ``remote_addr``."""
    factory = RequestFactory(REMOTE_ADDR=remote_addr)
    request = factory.get("/")
    request.COOKIES = {name: morsel.value for name, morsel in client.cookies.items()}
    return request


# -- the cookie ----------------------------------------------------------------------------------


def test_a_right_check_sets_the_owner_cookie(clock):
    checked = verify(APIClient(REMOTE_ADDR=OWNER_ADDRESS))
    cookie = checked.cookies[OWNER_COOKIE]
    assert cookie["httponly"] is True
    assert cookie["samesite"] == "Lax"
    assert cookie["secure"] == ""  # the request was plain HTTP
    assert cookie["max-age"] == 90 * 24 * 3600
    assert cookie["path"] == "/"
    # A keyed hash of the number, never the number in any spelling.
    for spelling in (PHONE, "771122330", "+84771122330", "84771122330"):
        assert spelling not in cookie.value


def test_the_cookie_is_secure_over_https(clock):
    client = APIClient(REMOTE_ADDR=OWNER_ADDRESS)
    asked = client.post(list_url(), {"phone_number": PHONE}, format="json", secure=True)
    checked = client.post(check_url(asked.json()["id"]), {"code": CODE}, format="json", secure=True)
    assert checked.cookies[OWNER_COOKIE]["secure"] is True


def test_a_failed_check_sets_no_cookie(clock):
    client = APIClient(REMOTE_ADDR=OWNER_ADDRESS)
    asked = ask(client)
    wrong = client.post(check_url(asked.json()["id"]), {"code": "000000"}, format="json")
    assert wrong.status_code == 400
    assert OWNER_COOKIE not in wrong.cookies


def test_the_cookie_holder_owns_that_number_only(clock):
    client = APIClient(REMOTE_ADDR=OWNER_ADDRESS)
    verify(client)
    # From anywhere: the cookie, not the address, tells it.
    assert is_owner(request_with_cookies(client), PHONE) is True
    assert is_owner(request_with_cookies(client), "+84 77 112 2330") is True  # any spelling
    assert is_owner(request_with_cookies(client), OTHER_PHONE) is False
    assert is_owner(request_with_cookies(APIClient()), PHONE) is False  # no cookie


def test_one_cookie_remembers_several_numbers(clock):
    client = APIClient(REMOTE_ADDR=OWNER_ADDRESS)
    verify(client)
    verify(client, OTHER_PHONE)
    assert is_owner(request_with_cookies(client), PHONE) is True
    assert is_owner(request_with_cookies(client), OTHER_PHONE) is True


def test_a_forged_cookie_proves_nothing(clock):
    client = APIClient(REMOTE_ADDR=OWNER_ADDRESS)
    verify(client)
    genuine = client.cookies[OWNER_COOKIE].value
    digest, rest = genuine.split(":", 1)
    request = request_with_cookies(client)
    request.COOKIES[OWNER_COOKIE] = f"{digest[:-1]}{'0' if digest[-1] != '0' else '1'}:{rest}"
    assert is_owner(request, PHONE) is False
    request.COOKIES[OWNER_COOKIE] = digest  # the hash alone, unsigned
    assert is_owner(request, PHONE) is False


def test_the_cookie_lasts_owner_max_age(clock):
    client = APIClient(REMOTE_ADDR=OWNER_ADDRESS)
    verify(client)
    clock.shift(timedelta(days=89))
    assert is_owner(request_with_cookies(client), PHONE) is True
    clock.shift(timedelta(days=2))
    assert is_owner(request_with_cookies(client), PHONE) is False


def test_a_cookie_made_before_a_key_rotation_still_counts(clock, settings):
    client = APIClient(REMOTE_ADDR=OWNER_ADDRESS)
    verify(client)
    old_key = settings.SECRET_KEY
    settings.SECRET_KEY = "a new secret key that is long enough to be taken seriously"
    assert is_owner(request_with_cookies(client), PHONE) is False
    settings.SECRET_KEY_FALLBACKS = [old_key]
    assert is_owner(request_with_cookies(client), PHONE) is True


# -- the address ---------------------------------------------------------------------------------


def test_the_address_that_verified_the_number_owns_it(clock):
    verify(APIClient(REMOTE_ADDR=OWNER_ADDRESS))
    assert is_owner(request_with_cookies(APIClient(), OWNER_ADDRESS), PHONE) is True
    assert is_owner(request_with_cookies(APIClient(), OWNER_ADDRESS), OTHER_PHONE) is False
    assert is_owner(request_with_cookies(APIClient(), "198.51.100.1"), PHONE) is False


def test_an_address_whose_code_was_not_verified_owns_nothing(clock):
    ask(APIClient(REMOTE_ADDR=OWNER_ADDRESS))
    assert is_owner(request_with_cookies(APIClient(), OWNER_ADDRESS), PHONE) is False


def test_an_address_is_remembered_for_owner_max_age(clock, voiceotp):
    voiceotp(OWNER_MAX_AGE=3600)
    verify(APIClient(REMOTE_ADDR=OWNER_ADDRESS))
    clock.shift(timedelta(seconds=3599))
    assert is_owner(request_with_cookies(APIClient(), OWNER_ADDRESS), PHONE) is True
    clock.shift(timedelta(seconds=2))
    assert is_owner(request_with_cookies(APIClient(), OWNER_ADDRESS), PHONE) is False


def test_an_unknown_client_is_never_an_owner_by_address(clock):
    verify(APIClient(REMOTE_ADDR=""))  # verified, with no address stored
    assert is_owner(request_with_cookies(APIClient(), ""), PHONE) is False


def test_owner_max_age_0_recognises_no_owner(clock, voiceotp):
    voiceotp(OWNER_MAX_AGE=0)
    client = APIClient(REMOTE_ADDR=OWNER_ADDRESS)
    checked = verify(client)
    assert OWNER_COOKIE not in checked.cookies
    assert is_owner(request_with_cookies(client, OWNER_ADDRESS), PHONE) is False


def test_a_number_that_cannot_be_called_has_no_owner():
    assert is_owner(request_with_cookies(APIClient()), "1900 1234") is False
    assert is_owner(request_with_cookies(APIClient()), "not a number") is False


# -- the owner's share ---------------------------------------------------------------------------


def strangers_use_up_their_share(clock) -> list[int]:
    """Strangers from fresh addresses ask for PHONE until refused, each once the code before
    expired (a pending code of another client is not replaced); returns their answers.

    The tests that run on the production tier turn the cooldown off: Redis expires its key by
    its own clock, not the test's. Only the day's limit refuses here either way."""
    answers = []
    for index in range(1, 20):
        clock.shift(timedelta(seconds=301))
        response = ask(stranger(index))
        answers.append(response.status_code)
        if response.status_code == 429:
            return answers
    raise AssertionError("strangers were never refused")


def test_strangers_cannot_spend_the_owners_share(clock, voiceotp):
    """F12: ten requests a day from fresh addresses used up SENDS_PER_NUMBER_PER_DAY and the
    owner got 429 for the rest of the day. Now strangers stop at SENDS_PER_NUMBER_PER_DAY -
    SENDS_RESERVED_FOR_OWNER_PER_DAY, and the owner (recognised by its cookie, from a new
    address) still gets its three."""
    voiceotp(RESEND_COOLDOWN=0, SENDS_PER_NUMBER_PER_HOUR=0, SENDS_PER_NUMBER_PER_DAY=10)
    owner = APIClient(REMOTE_ADDR=OWNER_ADDRESS)
    verify(owner)  # a first-time owner is a stranger too: one of the strangers' seven
    answers = strangers_use_up_their_share(clock)
    assert answers == [201] * 6 + [429]
    owner_elsewhere = APIClient(REMOTE_ADDR="192.0.2.200")
    owner_elsewhere.cookies = owner.cookies
    for _ in range(3):
        clock.shift(timedelta(seconds=61))
        assert ask(owner_elsewhere).status_code == 201
    clock.shift(timedelta(seconds=61))
    refused = ask(owner_elsewhere)
    assert refused.status_code == 429  # the whole day is spent now
    assert Verification.objects.count() == 10


def test_the_owners_address_gets_the_share_without_a_cookie(clock, voiceotp):
    voiceotp(SENDS_PER_NUMBER_PER_HOUR=0, SENDS_PER_NUMBER_PER_DAY=10)
    verify(APIClient(REMOTE_ADDR=OWNER_ADDRESS))
    strangers_use_up_their_share(clock)
    clock.shift(timedelta(seconds=61))
    assert ask(APIClient(REMOTE_ADDR=OWNER_ADDRESS)).status_code == 201


def test_request_code_takes_the_owner_from_its_caller(clock, voiceotp):
    voiceotp(
        SENDS_PER_NUMBER_PER_HOUR=0, SENDS_PER_NUMBER_PER_DAY=4, SENDS_RESERVED_FOR_OWNER_PER_DAY=2
    )
    for _ in range(2):
        clock.shift(timedelta(seconds=301))
        request_code(PHONE, client_ip="198.51.100.1")
    clock.shift(timedelta(seconds=301))
    with pytest.raises(RateLimited) as refused:
        request_code(PHONE, client_ip="198.51.100.1")
    assert refused.value.limit == "number_day"
    for _ in range(2):
        clock.shift(timedelta(seconds=61))
        request_code(PHONE, client_ip="192.0.2.1", owner=True)
    clock.shift(timedelta(seconds=61))
    with pytest.raises(RateLimited):
        request_code(PHONE, client_ip="192.0.2.1", owner=True)


def test_a_first_time_owner_is_a_stranger(clock, voiceotp):
    """The trade-off documented in docs/client-address.rst: a client that never verified the
    number cannot be told from an attacker, so strangers can use up its share of the day."""
    voiceotp(RESEND_COOLDOWN=0, SENDS_PER_NUMBER_PER_HOUR=0, SENDS_PER_NUMBER_PER_DAY=10)
    assert strangers_use_up_their_share(clock) == [201] * 7 + [429]
    clock.shift(timedelta(seconds=301))
    response = ask(APIClient(REMOTE_ADDR=OWNER_ADDRESS))
    assert response.status_code == 429
    end_of_day = timezone.now().replace(hour=0, minute=0, second=0) + timedelta(days=1)
    assert int(response.headers["Retry-After"]) == int(
        (end_of_day - timezone.now()).total_seconds()
    )


@pytest.mark.parametrize(
    "value",
    ["", "garbage", "a:b:c", "x" * 4000, "é\xff", ".....", "0771122330:1abc:forged"],
)
def test_a_hostile_owner_cookie_is_ignored(clock, value):
    client = APIClient(REMOTE_ADDR=OWNER_ADDRESS)
    client.cookies[OWNER_COOKIE] = value
    assert ask(client).status_code == 201
    assert is_owner(request_with_cookies(client), PHONE) is False
