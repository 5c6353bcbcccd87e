"""StringeeProvider: the passcode read by text-to-speech in a call placed through Stringee.

The second backend (``providers.base``). What it relies on, and where each fact is documented:

- ``POST {API_URL}call2/callout`` ("Make outbound calls", developer.stringee.com/docs/
  rest-api-reference/call-rest-api-make-outbound-call): a JSON body with ``from`` and ``to``
  (``{"type": "external", "number", "alias"}``, ``to`` a list) and the call's SCCO in
  ``actions``; the answer is ``{"r": 0, ...}``, ``r`` other than 0 being an error with its
  ``message``. The call's id comes back as ``call_id`` (the documented sample shows ``r`` alone;
  Stringee's event samples and the published wrappers of this endpoint read ``call_id``).
- The ``talk`` action (SCCO; the samples of developer.stringee.com/docs/make-outbound-call and
  stringeecom/server-samples ``auto-call/php/auto-call.php``): ``text``, ``voice`` (e.g.
  ``hn_female_thutrang_phrase_48k-hsmm``), ``speed`` (0 the normal pace, negative slower),
  ``loop``, ``bargeIn``.
- Authentication (developer.stringee.com/docs/make-outbound-call, "Create the JWT"; the sample
  ``access_token/nodejs/access_token_for_rest_api.js`` and ``StringeeCurlClient.php``): header
  ``X-STRINGEE-AUTH`` with a JWT, header ``{"typ": "JWT", "alg": "HS256", "cty":
  "stringee-api;v=1"}``, payload ``{"jti": "<SID>-<now>", "iss": "<API key SID>", "exp",
  "rest_api": true}``, signed HMAC-SHA256 with the API key secret (Stringee supports HS256 only).
- Call events (developer.stringee.com/docs/server/call-events): a POST of JSON to the event URL
  with ``call_id``, ``call_status`` (``created``, ``started``, ``ringing``, ``answered``,
  ``ended``, ``agentEnded``), ``timestamp_ms``; an ``ended`` event adds ``endCallCause`` (a SIP
  status and its phrase, ``"486 Busy Here"``), ``endedBy``, ``duration`` and ``answerDuration``
  (seconds). The event URL is sent with each call as ``event_url``, the call's own signed
  callback URL, so the one callback door can route it.
- Stringee documents no request for one call's state: the result comes by call event only
  (``supports_polling = False``).

The passcode's digits are in the request body only: never in a log record, an exception or a repr.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import re
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import requests

from ..exceptions import (
    AuthenticationFailed,
    ImproperlyConfigured,
    ProviderError,
    ProviderRejected,
    ProviderUnavailable,
)
from ..phone import format_phone_number, parse_phone_number, validate_otp
from ..provider_reports import CallOutcome, CallReport, InvalidReport, parse_report
from .base import BaseProvider, StartedCall
from .http import get_session, never_sent, read_answer
from .pitel import request_timeout

logger = logging.getLogger("django_voiceotp.client")

#: How long a minted JWT is valid: short, so a token read from a log or a proxy is soon useless.
TOKEN_LIFETIME = 300
#: A token is minted again this long before it expires, so none expires in flight.
TOKEN_REFRESH_MARGIN = 60
#: What is read to the person: the passcode, its digits spaced so each is read alone, twice.
DEFAULT_MESSAGE = "Mã xác thực của bạn là: {digits}. Xin nhắc lại, mã của bạn là: {digits}."
DEFAULT_VOICE = "hn_female_thutrang_phrase_48k-hsmm"
DEFAULT_SPEED = 0

#: The statuses of a call event that say the call goes on (call-events page); ``agentEnded`` is
#: an agent's leg ending, the call's own ``ended`` follows.
IN_PROGRESS_EVENTS = frozenset({"created", "started", "ringing", "agentEnded"})
#: A call that ended unanswered, by the SIP status that ended it: busy, or not answered.
BUSY_SIP = frozenset({486, 600, 603})
NO_ANSWER_SIP = frozenset({408, 480, 487})
#: The raw statuses this backend reports for a call not reached (a redial may help).
NOT_REACHED_STATUSES = ("busy", "no_answer", "call_failed")
_SIP_STATUS = re.compile(r"\s*([1-6]\d\d)\b")
#: Runs of digits in what the provider says are cut: they could echo the request's passcode.
_DIGIT_RUNS = re.compile(r"\d[\d .,;-]{2,}\d")


@dataclass(frozen=True)
class _Token:
    value: str = field(repr=False)
    expires_at: float


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def mint_jwt(api_key_sid: str, api_key_secret: str, *, now: float, lifetime: int) -> str:
    """A REST API token as Stringee documents it: HS256 over the header and payload."""
    header = {"typ": "JWT", "alg": "HS256", "cty": "stringee-api;v=1"}
    issued = int(now)
    payload = {
        "jti": f"{api_key_sid}-{issued}",
        "iss": api_key_sid,
        "exp": issued + lifetime,
        "rest_api": True,
    }
    signing_input = ".".join(
        _b64url(json.dumps(part, separators=(",", ":")).encode()) for part in (header, payload)
    )
    signature = hmac.new(api_key_secret.encode(), signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{_b64url(signature)}"


def spoken_text(otp: str, template: str = DEFAULT_MESSAGE) -> str:
    """The text read to the person: ``template`` with each ``{digits}`` the passcode, spaced.
    Other braces are the template's own text (no ``str.format``: a stray one cannot fail a send).
    """
    return template.replace("{digits}", " ".join(otp))


def _provider_message(body: Any) -> str:
    message = body.get("message") if isinstance(body, dict) else None
    if not isinstance(message, str):
        return ""
    return _DIGIT_RUNS.sub("<digits>", message)[:300]


class StringeeProvider(BaseProvider):
    """Stringee's outbound call API. Options (an entry of ``PROVIDERS``): ``API_URL``
    (``https://api.stringee.com/v1/``), ``API_KEY_SID``, ``API_KEY_SECRET``, ``FROM_NUMBER``
    (required); ``VOICE``, ``SPEED`` and ``MESSAGE`` (a text with ``{digits}``)."""

    required_options = ("API_URL", "API_KEY_SID", "API_KEY_SECRET", "FROM_NUMBER")
    not_reached_statuses = NOT_REACHED_STATUSES
    supports_polling = False

    def __init__(self, name: str = "stringee", options: Mapping[str, Any] | None = None) -> None:
        super().__init__(name, options)
        self._token: _Token | None = None
        self._token_lock = threading.Lock()

    # -- options ---------------------------------------------------------------------------------

    def _optional(self, key: str, default: Any) -> Any:
        # Options only this backend has: no flat VOICEOTP key of the same name to fall back on.
        value = (self.options or {}).get(key)
        return default if value is None else value

    @property
    def api_url(self) -> str:
        url = self.require_option("API_URL")
        return url if url.endswith("/") else url + "/"

    # -- the token -------------------------------------------------------------------------------

    def access_token(self) -> str:
        """The REST API token: minted once, and again only near its expiry."""
        now = time.time()
        with self._token_lock:
            token = self._token
            if token is None or token.expires_at - TOKEN_REFRESH_MARGIN <= now:
                value = mint_jwt(
                    str(self.require_option("API_KEY_SID")),
                    str(self.require_option("API_KEY_SECRET")),
                    now=now,
                    lifetime=TOKEN_LIFETIME,
                )
                token = self._token = _Token(value, int(now) + TOKEN_LIFETIME)
            return token.value

    def authenticate(self) -> str:
        """Stringee has no token endpoint: the token is minted here, and proved by the next call
        placed. What the check can say is which API key signs it."""
        self._token = None
        self.access_token()
        return f"API key {self.require_option('API_KEY_SID')} (a token signed locally)"

    # -- the call --------------------------------------------------------------------------------

    def callout_body(
        self, phone_number: str, otp: str, callback_url: str | None = None
    ) -> dict[str, Any]:
        """The ``call2/callout`` request: from the Stringee number, to the person, reading the
        passcode."""
        number = parse_phone_number(str(phone_number))
        to = format_phone_number(number, phone_format="e164").lstrip("+")
        from_number = str(self.require_option("FROM_NUMBER"))
        template = self._optional("MESSAGE", DEFAULT_MESSAGE)
        if not isinstance(template, str) or "{digits}" not in template:
            raise ImproperlyConfigured(
                f"VOICEOTP['PROVIDERS'][{self.name!r}]['MESSAGE'] must be a text with {{digits}}."
            )
        speed = self._optional("SPEED", DEFAULT_SPEED)
        if isinstance(speed, bool) or not isinstance(speed, int | float):
            raise ImproperlyConfigured(
                f"VOICEOTP['PROVIDERS'][{self.name!r}]['SPEED'] must be a number."
            )
        body: dict[str, Any] = {
            "from": {"type": "external", "number": from_number, "alias": from_number},
            "to": [{"type": "external", "number": to, "alias": to}],
            "actions": [
                {
                    "action": "talk",
                    "text": spoken_text(validate_otp(otp), template),
                    "voice": str(self._optional("VOICE", DEFAULT_VOICE)),
                    "speed": speed,
                    "loop": 1,
                    "bargeIn": False,
                }
            ],
        }
        if callback_url:
            body["event_url"] = callback_url
        return body

    def start_call(
        self, campaign_id: str, phone_number: str, otp: str, callback_url: str | None = None
    ) -> StartedCall:
        """Place the call. ``campaign_id`` means nothing to Stringee: it is the app's, kept."""
        body = self._post("call2/callout", self.callout_body(phone_number, otp, callback_url))
        call_id = body.get("call_id")
        if not isinstance(call_id, str) or not call_id:
            raise ProviderUnavailable("Stringee accepted the call but sent no call_id.")
        return StartedCall(call_id=call_id, campaign_id=str(campaign_id))

    def get_report(self, call_id: str) -> CallReport:
        raise NotImplementedError("Stringee reports a call by its events only.")

    # -- HTTP ------------------------------------------------------------------------------------

    def _post(self, path: str, payload: dict[str, Any]) -> dict[str, Any]:
        # Minted before the request: a token that cannot be made stops the call before a byte of
        # it is sent (ImproperlyConfigured, as a Pitel entry without its SECRET_KEY).
        headers = {"X-STRINGEE-AUTH": self.access_token()}
        try:
            response = get_session().post(
                self.api_url + path, json=payload, headers=headers, timeout=request_timeout()
            )
        except requests.Timeout as err:
            # A connect timeout placed nothing; a read timeout may have: the call is ringing.
            raise ProviderUnavailable(
                f"Stringee timed out ({path}).", placed_nothing=never_sent(err)
            ) from err
        except requests.RequestException as err:
            raise ProviderUnavailable(
                f"Could not reach Stringee ({path}): {type(err).__name__}.",
                placed_nothing=never_sent(err),
            ) from err
        logger.debug("Stringee %s answered HTTP %s.", path, response.status_code)
        return self._parse(response, path)

    def _parse(self, response: requests.Response, path: str) -> dict[str, Any]:
        status = response.status_code
        body, code = read_answer(response, "r")
        message = _provider_message(body)

        def error(error_class: type[ProviderError], text: str, **extra: Any) -> ProviderError:
            return error_class(
                f"{text} ({path}).",
                http_status=status,
                code=code,
                provider_message=message,
                **extra,
            )

        if status in (401, 403):
            with self._token_lock:
                self._token = None  # a secret changed since: the next call mints with the new one
            raise error(AuthenticationFailed, "Stringee refused the API key")
        if status == 429 or status >= 500:
            # It answered, and not with a call: the call may be placed at another provider.
            raise error(ProviderUnavailable, "Stringee is unavailable", placed_nothing=True)
        if 400 <= status < 500:
            raise error(ProviderRejected, "Stringee refused the request")
        if not isinstance(body, dict) or code is None:
            raise error(ProviderUnavailable, "Stringee answered without its result")
        if code != 0:
            raise error(ProviderRejected, "Stringee refused the request")
        return body

    # -- call events -----------------------------------------------------------------------------

    def parse_webhook(self, payload: Any) -> CallReport:
        """A call event: in progress until ``answered`` (the passcode is being read) or
        ``ended`` (answered if ``answerDuration`` is above 0, else busy, no answer or failed)."""
        if not isinstance(payload, dict):
            raise InvalidReport("not_report", "The call event is not a JSON object.")
        event = payload.get("call_status")
        if not isinstance(event, str):
            raise InvalidReport("not_report", "The call event has no call_status.")
        answered_for = _seconds(payload.get("answerDuration"))
        if event in IN_PROGRESS_EVENTS:
            raw_status, outcome = event, CallOutcome.IN_PROGRESS
        elif event == "answered" or (event == "ended" and answered_for):
            raw_status, outcome = "answered", CallOutcome.SUCCESS
        elif event == "ended":
            raw_status, outcome = _unanswered(payload.get("endCallCause")), CallOutcome.FAILED
        else:
            raise InvalidReport(
                "bad_value", "The call event's call_status is not one Stringee sends."
            )
        report = parse_report(
            {
                "call_id": payload.get("call_id"),
                "status": raw_status,
                "duration": answered_for if event == "ended" else None,
            }
        )
        return CallReport(
            call_id=report.call_id,
            outcome=outcome,
            raw_status=report.raw_status,
            duration=report.duration,
        )


def _seconds(value: Any) -> int | None:
    """``answerDuration``/``duration`` as Stringee sends them (a number of seconds), else None."""
    if isinstance(value, bool) or not isinstance(value, int | float) or value != value:
        return None
    if not 0 <= value <= 2**31 - 1:
        raise InvalidReport("bad_value", "The call event's answerDuration is out of range.")
    return int(value)


def _unanswered(cause: Any) -> str:
    """Why an unanswered call ended, from ``endCallCause`` (``"486 Busy Here"``)."""
    text = cause if isinstance(cause, str) else ""
    match = _SIP_STATUS.match(text)
    if match:
        sip = int(match.group(1))
        if sip in BUSY_SIP:
            return "busy"
        if sip in NO_ANSWER_SIP:
            return "no_answer"
        if sip >= 400:
            return "call_failed"
    lowered = text.casefold()
    if "busy" in lowered:
        return "busy"
    if "answer" in lowered or "timeout" in lowered:
        return "no_answer"
    return "ended"


__all__ = ["NOT_REACHED_STATUSES", "StringeeProvider", "mint_jwt", "spoken_text"]
