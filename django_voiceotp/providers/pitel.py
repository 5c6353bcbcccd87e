"""PitelProvider: the TEL4VN Pitel Autocall v1 OTP Voice API over HTTP, with a shared token cache.

The first backend (``providers.base``), and the client the app spoke before there were others: it
speaks ``spec/provider-api.rst`` exactly, with the quirks of PROVIDER-NOTES.md.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import requests
from django.core.cache import caches

from .. import metrics
from ..conf import AUTH_SCHEMES, voiceotp_settings
from ..exceptions import (
    AuthenticationFailed,
    ImproperlyConfigured,
    ProviderRejected,
    ProviderUnavailable,
)
from ..phone import ProviderNumber, normalize_phone_number, validate_otp
from ..provider_reports import CallReport, parse_report
from .base import BaseProvider, StartedCall
from .http import get_session, never_sent, read_answer

logger = logging.getLogger("django_voiceotp.client")

#: ``expire_at`` below this is a lifetime in seconds (v1), above it a Unix time (later versions).
EPOCH_THRESHOLD = 10**9
#: How long a refused secret key is remembered, so a bad key cannot hammer the provider.
REFUSED_KEY_BACKOFF = 60
#: How long other processes wait for the one that is fetching the first token.
TOKEN_LOCK_WAIT = 10.0


@dataclass(frozen=True)
class AccessToken:
    access_token: str = field(repr=False)
    user_id: str
    expires_at: float

    def to_cache(self) -> dict[str, Any]:
        return {
            "access_token": self.access_token,
            "user_id": self.user_id,
            "expires_at": self.expires_at,
        }


def provider_message(body: Any) -> str:
    """The provider's explanation: ``message``, ``messsage`` (sic), ``data.error`` or ``error``."""
    if not isinstance(body, dict):
        return ""
    details = []
    for key in ("message", "messsage"):
        if isinstance(body.get(key), str) and body[key]:
            details.append(body[key])
    errors = [body.get("error")]
    if isinstance(body.get("data"), dict):
        errors.append(body["data"].get("error"))
    for error in errors:
        if isinstance(error, str) and error:
            details.append(error)
        elif isinstance(error, list):
            for item in error:
                text = item.get("message") or item.get("msg") if isinstance(item, dict) else item
                if text:
                    details.append(str(text))
    return ": ".join(dict.fromkeys(details))[:500]


def request_timeout() -> float | tuple[float, float]:
    """TIMEOUT as ``requests`` takes it (the settings turn a JSON list into a tuple). One for
    every provider: it also sets a send attempt's lease (``claims.send_lease``)."""
    return voiceotp_settings.TIMEOUT


@functools.lru_cache(maxsize=8)
def _key_digest(secret_key: str) -> str:
    return hashlib.sha256(secret_key.encode()).hexdigest()[:24]


#: The endpoint that places a call: a request to another places nothing, whatever its fate.
CALL_ENDPOINT = "voiceotp"


class _TokenRejected(Exception):
    """An endpoint answered 401: the token is expired or revoked."""


def _outcome(error: Exception) -> str:
    """How a provider request failed, as a metric label (a fixed name, never a message)."""
    if isinstance(error, _TokenRejected):
        return "token_rejected"
    if isinstance(error, AuthenticationFailed):
        return "authentication_failed"
    if isinstance(error, ProviderUnavailable):
        return "unavailable"
    if isinstance(error, ProviderRejected):
        return "rejected"
    return "error"


#: The Pitel statuses of a call placed but not reached, in every spelling PROVIDER-NOTES.md lists
#: (point 14): nobody answered, the line was busy, the phone was off or out of reach.
NOT_REACHED_STATUSES = (
    "NOANWSER",
    "NOANSWER",
    "no-answered",
    "no_answered",
    "BUSY",
    "busy_line",
    "not-available",
    "not_available",
)


class PitelProvider(BaseProvider):
    """The provider's three endpoints. Settings are read on use, so one instance may live long.

    Options (an entry of ``PROVIDERS``, else the flat ``VOICEOTP`` keys): ``API_URL`` and
    ``SECRET_KEY`` (required), ``DEFAULT_CAMPAIGN`` and ``AUTH_SCHEME``. ``api_url``
    and ``secret_key`` override them, for using the client on its own.
    """

    required_options = ("API_URL", "SECRET_KEY")
    not_reached_statuses = NOT_REACHED_STATUSES

    def __init__(
        self,
        name: str = "pitel",
        options: Mapping[str, Any] | None = None,
        *,
        api_url: str | None = None,
        secret_key: str | None = None,
    ) -> None:
        super().__init__(name, options)
        self._api_url = api_url
        self._secret_key = secret_key

    # -- configuration ---------------------------------------------------------------------

    @property
    def api_url(self) -> str:
        url = self._api_url or self.require_option("API_URL")
        return url if url.endswith("/") else url + "/"

    @property
    def secret_key(self) -> str:
        return self._secret_key or self.require_option("SECRET_KEY")

    @property
    def cache(self):
        return caches[voiceotp_settings.TOKEN_CACHE_ALIAS]

    def _cache_key(self, suffix: str) -> str:
        # Keyed by the secret key (two accounts never share a token) without storing it.
        return f"django_voiceotp:token:{_key_digest(self.secret_key)}:{suffix}"

    # -- the access token ------------------------------------------------------------------

    def generate_access_token(self) -> AccessToken:
        """Ask the provider for a new token. Most callers want :meth:`get_access_token`."""
        if self.cache.get(self._cache_key("refused")):
            raise AuthenticationFailed(
                "The provider refused this secret key recently; not asking again yet."
            )
        try:
            body = self._send(
                "POST",
                "api/v1/users/generate_access_token",
                "token",
                json={"secret_key": self.secret_key},
            )
        except _TokenRejected:
            self.cache.set(self._cache_key("refused"), True, REFUSED_KEY_BACKOFF)
            raise AuthenticationFailed(
                "The provider refused the secret key.", http_status=401
            ) from None
        except ProviderRejected as err:
            if err.http_status in (401, 403) or err.code in (401, 403):
                self.cache.set(self._cache_key("refused"), True, REFUSED_KEY_BACKOFF)
                raise AuthenticationFailed(
                    "The provider refused the secret key.",
                    http_status=err.http_status,
                    code=err.code,
                    provider_message=err.provider_message,
                ) from err
            raise
        data = body.get("data")
        if not isinstance(data, dict) or not data.get("access_token") or not data.get("user_id"):
            raise ProviderUnavailable("The token response has no access_token or user_id.")
        return AccessToken(
            access_token=str(data["access_token"]),
            user_id=str(data["user_id"]),
            expires_at=self._expiry(data.get("expire_at")),
        )

    @staticmethod
    def _expiry(expire_at: Any) -> float:
        now = time.time()
        try:
            value = float(expire_at)
        except (TypeError, ValueError):
            # No usable expiry: assume a short life; a 401 refreshes it anyway.
            return now + 3600
        return value if value >= EPOCH_THRESHOLD else now + value

    def get_access_token(self) -> AccessToken:
        """The cached token, shared by every process through Django's cache.

        Only one process fetches a missing token; the others wait for it (a cache ``add`` lock),
        so a cold start of many workers makes one token request, not a burst.
        """
        cache, key, lock_key = self.cache, self._cache_key("access"), self._cache_key("lock")
        deadline = time.monotonic() + TOKEN_LOCK_WAIT
        locked = False
        while True:
            cached = cache.get(key)
            if cached:
                return AccessToken(**cached)
            locked = cache.add(lock_key, os.getpid(), timeout=int(TOKEN_LOCK_WAIT) + 5)
            # Without the lock, wait for its holder, unless it died or the key was refused.
            if locked or time.monotonic() > deadline or cache.get(self._cache_key("refused")):
                break
            time.sleep(0.05)
        try:
            cached = cache.get(key)  # stored by the previous holder between our get and add
            if cached:
                return AccessToken(**cached)
            token = self.generate_access_token()
            lifetime = token.expires_at - time.time()
            margin = min(voiceotp_settings.TOKEN_REFRESH_MARGIN, lifetime / 2)
            if lifetime - margin >= 1:
                cache.set(key, token.to_cache(), timeout=int(lifetime - margin))
            return token
        finally:
            if locked:
                cache.delete(lock_key)

    def _discard_token(self, token: AccessToken) -> None:
        cache, key = self.cache, self._cache_key("access")
        cached = cache.get(key)
        # Another process may already have stored a fresh one: keep it.
        if cached and cached["access_token"] == token.access_token:
            cache.delete(key)

    # -- the calls -------------------------------------------------------------------------

    def start_call(
        self, campaign_id: str, phone_number: str, otp: str, callback_url: str | None = None
    ) -> StartedCall:
        """Place the voice call that reads ``otp`` to ``phone_number``.

        A :class:`~django_voiceotp.phone.ProviderNumber` is sent as it is; any other string is
        parsed and normalised first.
        """
        if not isinstance(phone_number, ProviderNumber):
            phone_number = normalize_phone_number(phone_number)
        contact = {"phone_number": str(phone_number), "otp": validate_otp(otp)}
        path = f"api/v1/campaigns/{quote(str(campaign_id), safe='')}/voiceotp"

        def request(token: AccessToken) -> dict[str, Any]:
            payload: dict[str, Any] = {"user_id": token.user_id, "contact": contact}
            if callback_url:
                payload["callback_url"] = callback_url
            return self._send("POST", path, CALL_ENDPOINT, json=payload, token=token)

        data = self._authenticated(request).get("data")
        if not isinstance(data, dict) or not data.get("call_id"):
            raise ProviderUnavailable("The provider accepted the call but sent no call_id.")
        return StartedCall(
            call_id=str(data["call_id"]), campaign_id=str(data.get("campaign_id") or campaign_id)
        )

    def get_report(self, call_id: str) -> CallReport:
        """The call's state now: final success, final failure, or still in progress."""
        path = f"api/v1/report/{quote(str(call_id), safe='')}"

        def request(token: AccessToken) -> dict[str, Any]:
            return self._send("GET", path, "report", params={"user_id": token.user_id}, token=token)

        data = self._authenticated(request).get("data")
        if isinstance(data, dict) and not data.get("call_id"):
            data = {**data, "call_id": str(call_id)}
        try:
            return parse_report(data)
        except ValueError as err:
            raise ProviderUnavailable(f"The report is malformed: {err}") from err

    def parse_webhook(self, payload: Any) -> CallReport:
        """A callback's body is the report endpoint's call object: one parser for both."""
        return parse_report(payload)

    def authenticate(self) -> str:
        """A token round trip, now (bypassing the cache): who the provider says we are."""
        return f"user {self.generate_access_token().user_id}"

    # -- HTTP ------------------------------------------------------------------------------

    def _authenticated(self, request) -> dict[str, Any]:
        """Run ``request(token)``; on a 401 refresh the token once and run it again."""
        token = self.get_access_token()
        try:
            return request(token)
        except _TokenRejected:
            logger.info("Access token rejected by the provider; refreshing it once.")
            self._discard_token(token)
        try:
            return request(self.get_access_token())
        except _TokenRejected:
            raise AuthenticationFailed(
                "The provider rejected a freshly issued access token.", http_status=401
            ) from None

    def _authorization(self, token: AccessToken) -> str:
        scheme = self.option("AUTH_SCHEME")
        if scheme not in AUTH_SCHEMES:
            raise ImproperlyConfigured(
                f"VOICEOTP['AUTH_SCHEME'] must be one of {AUTH_SCHEMES}, not {scheme!r}."
            )
        return f"{scheme} {token.access_token}" if scheme else token.access_token

    def _send(
        self,
        method: str,
        path: str,
        endpoint: str,
        *,
        token: AccessToken | None = None,
        **kwargs: Any,
    ) -> dict[str, Any]:
        headers = {"Authorization": self._authorization(token)} if token else {}
        started = time.monotonic()
        try:
            body = self._request(method, path, endpoint, headers, **kwargs)
        except Exception as err:
            metrics.provider_request(endpoint, _outcome(err), time.monotonic() - started)
            raise
        metrics.provider_request(endpoint, "ok", time.monotonic() - started)
        return body

    def _request(
        self, method: str, path: str, endpoint: str, headers: dict[str, str], **kwargs: Any
    ) -> dict[str, Any]:
        started = time.monotonic()
        try:
            response = get_session().request(
                method,
                self.api_url + path,
                headers=headers,
                timeout=request_timeout(),
                **kwargs,
            )
        except requests.Timeout as err:
            raise ProviderUnavailable(
                f"The provider timed out ({endpoint}).",
                placed_nothing=endpoint != CALL_ENDPOINT or never_sent(err),
            ) from err
        except requests.RequestException as err:
            raise ProviderUnavailable(
                f"Could not reach the provider ({endpoint}): {type(err).__name__}.",
                placed_nothing=endpoint != CALL_ENDPOINT or never_sent(err),
            ) from err
        logger.debug(
            "Provider %s answered HTTP %s in %.0f ms.",
            endpoint,
            response.status_code,
            (time.monotonic() - started) * 1000,
        )
        return self._parse(response, endpoint)

    @staticmethod
    def _parse(response: requests.Response, endpoint: str) -> dict[str, Any]:
        """A success only when HTTP is 2xx and the body agrees: errors also come under HTTP 200."""
        http_status = response.status_code
        body, code = read_answer(response, "code")
        message = provider_message(body)

        if http_status == 401 or code == 401:
            raise _TokenRejected()
        if http_status == 429 or http_status >= 500 or code == 429 or (code or 0) >= 500:
            raise ProviderUnavailable(
                f"The provider is unavailable ({endpoint}).",
                placed_nothing=True,  # it answered: it did not accept the call
                http_status=http_status,
                code=code,
                provider_message=message,
            )
        if not isinstance(body, dict):
            error_class = ProviderRejected if 400 <= http_status < 500 else ProviderUnavailable
            raise error_class(
                f"The provider answered without a JSON object ({endpoint}).",
                http_status=http_status,
            )
        body_says_error = body.get("status") is False or (
            code is not None and not 200 <= code < 300
        )
        if http_status >= 300 or body_says_error:
            raise ProviderRejected(
                f"The provider refused the request ({endpoint}).",
                http_status=http_status,
                code=code,
                provider_message=message,
            )
        return body


__all__ = [
    "NOT_REACHED_STATUSES",
    "AccessToken",
    "PitelProvider",
    "StartedCall",
    "provider_message",
]
