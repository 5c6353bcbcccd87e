"""The sandbox provider's in-memory state: tokens, calls, faults, request log and callbacks."""

import dataclasses
import functools
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import requests

from . import constants
from .posting import CallbackQueue, callback_session

#: Vietnam keeps no daylight saving time, so a fixed UTC+7 is exact.
VIETNAM_TIME = timezone(timedelta(hours=7))

ENDPOINTS = ("token", "voiceotp", "report")
EXPIRE_AT_MODES = ("duration", "epoch")

#: Every fault kind with its parameters and their defaults.
FAULT_DEFAULTS: dict[str, dict[str, Any]] = {
    "http_error": {"status": 500},
    "slow": {"seconds": 1.0},
    "error_200": {"code": 404, "error": "simulated error"},
    "rate_limit": {},
    "garbage": {},
    "expire_token": {},
    "duplicate_callbacks": {"copies": 2},
    "early_callback": {},
    "in_progress": {},
}

#: Kinds that only mean something on one endpoint; they are bound to it.
FAULT_ENDPOINTS = {
    "duplicate_callbacks": "voiceotp",
    "early_callback": "voiceotp",
    "in_progress": "report",
}

CALLBACK_TIMEOUT = 10.0


def _now() -> datetime:
    return datetime.now(UTC)


@dataclasses.dataclass
class Config:
    """How the sandbox behaves; ``reset()`` restores these defaults."""

    #: Seconds from placing a call until it is final in ``report``.
    call_duration: float = 1.0
    #: Seconds after the call is final before its callback is posted.
    callback_delay: float = 0.0
    #: What ``expire_at`` holds: the lifetime in seconds (v1) or a Unix time (later versions).
    expire_at_mode: str = "duration"
    #: Seconds an access token stays valid.
    token_lifetime: int = constants.TOKEN_LIFETIME


@dataclasses.dataclass
class SimulatedCall:
    """One call placed through ``voiceotp``, with the outcome it will report."""

    call_id: str
    campaign_id: str
    user_id: str
    phone_number: str
    otp: str = dataclasses.field(repr=False)
    callback_url: str = dataclasses.field(repr=False)
    created: datetime
    final_at: datetime
    status: str
    duration: int
    keypress: str = dataclasses.field(repr=False)
    #: Unix time at which its call request reached the sandbox, before any fault held it: where
    #: the benchmarks' time-to-ring ends (``time.time()``, comparable across processes).
    received_at: float = 0.0
    #: One entry per callback POST: the HTTP status, or the exception's class name.
    callback_responses: list[int | str] = dataclasses.field(default_factory=list)

    def is_final(self, now: datetime | None = None) -> bool:
        return (now or _now()) >= self.final_at

    def report_data(self, *, in_progress: bool = False) -> dict[str, Any]:
        """The spec's report (and callback) object; empty status while the call is in progress."""
        final = not in_progress and self.is_final()
        return {
            "call_id": self.call_id,
            "campaign_id": self.campaign_id,
            "duration": self.duration if final else 0,
            "keypress": self.keypress if final else "",
            "phone_number": self.phone_number,
            "start_time": self.created.astimezone(VIETNAM_TIME).strftime("%Y-%m-%d %H:%M:%S"),
            "status": self.status if final else "",
            "user_id": self.user_id,
        }


@dataclasses.dataclass
class RecordedRequest:
    """A request to one of the three API endpoints, as received."""

    endpoint: str
    method: str
    path: str
    headers: dict[str, str] = dataclasses.field(repr=False)
    #: Parsed JSON, or the raw text when the body is not JSON.
    body: Any = dataclasses.field(repr=False)
    #: Unix time at which the request reached the sandbox.
    received_at: float = 0.0


@dataclasses.dataclass
class Fault:
    """A misbehaviour queued for the next ``remaining`` matching requests."""

    kind: str
    endpoint: str | None
    remaining: int
    params: dict[str, Any]


class SandboxProvider:
    """The simulated provider. One instance, ``provider``, serves every sandbox view."""

    def __init__(self) -> None:
        # Reentrant: the live server is threaded and helpers call each other under the lock.
        self._lock = threading.RLock()
        self._callbacks = CallbackQueue()
        #: How many times ``reset()`` ran; a request that outlived a reset can tell.
        self.resets = -1
        self.reset()

    def reset(self) -> None:
        """Back to defaults: no calls, faults, recorded requests or tokens; config cleared."""
        with self._lock:
            self._callbacks.cancel()
            self.resets += 1
            self.config = Config()
            self._calls: list[SimulatedCall] = []
            self._faults: list[Fault] = []
            self._requests: list[RecordedRequest] = []
            self._tokens: dict[str, datetime] = {}  # token -> expiry
            self._token_generation = 1
            self._campaigns = {constants.CAMPAIGN_ID}
            #: phone number -> the statuses its next calls end with, in order (see ``script``).
            self._scripts: dict[str, list[str]] = {}

    def configure(
        self,
        *,
        call_duration: float | None = None,
        callback_delay: float | None = None,
        expire_at_mode: str | None = None,
        token_lifetime: int | None = None,
    ) -> None:
        """Change the given settings (see ``Config``); the others keep their current value."""
        if expire_at_mode is not None and expire_at_mode not in EXPIRE_AT_MODES:
            raise ValueError(f"expire_at_mode must be one of {EXPIRE_AT_MODES}")
        with self._lock:
            if call_duration is not None:
                self.config.call_duration = call_duration
            if callback_delay is not None:
                self.config.callback_delay = callback_delay
            if expire_at_mode is not None:
                self.config.expire_at_mode = expire_at_mode
            if token_lifetime is not None:
                self.config.token_lifetime = token_lifetime

    # Campaigns

    def add_campaign(self, campaign_id: str) -> None:
        with self._lock:
            self._campaigns.add(campaign_id)

    def has_campaign(self, campaign_id: str) -> bool:
        with self._lock:
            return campaign_id in self._campaigns

    # Tokens

    def issue_token(self) -> tuple[str, int]:
        """Issue the current access token; return it with the ``expire_at`` value to answer."""
        with self._lock:
            now = _now()
            lifetime = self.config.token_lifetime
            token = constants.ACCESS_TOKEN
            if self._token_generation > 1:
                token = f"{constants.ACCESS_TOKEN}-{self._token_generation}"
            self._tokens[token] = now + timedelta(seconds=lifetime)
            if self.config.expire_at_mode == "epoch":
                return token, int(now.timestamp()) + lifetime
            return token, lifetime

    def token_is_valid(self, token: str) -> bool:
        with self._lock:
            expiry = self._tokens.get(token)
            return expiry is not None and _now() < expiry

    def expire_tokens(self) -> None:
        """Invalidate every issued token; the next one issued has a new value."""
        with self._lock:
            self._tokens.clear()
            self._token_generation += 1

    # Calls

    @property
    def calls(self) -> list[SimulatedCall]:
        with self._lock:
            return list(self._calls)

    def find_call(self, call_id: str) -> SimulatedCall | None:
        with self._lock:
            return next((call for call in self._calls if call.call_id == call_id), None)

    def place_call(
        self,
        *,
        campaign_id: str,
        user_id: str,
        phone_number: str,
        otp: str,
        callback_url: str = "",
        callback_copies: int = 1,
        early_callback: bool = False,
        received_at: float | None = None,
    ) -> SimulatedCall:
        """Record a call and schedule its callback; an early callback is posted before returning.

        ``received_at``: when its request reached the sandbox (Unix time); now if not given."""
        with self._lock:
            status = self._next_outcome(phone_number)
            success = status.casefold() in constants.SUCCESS_STATUSES
            created = _now()
            # An early callback reports a final call, so report must agree at once.
            call_duration = 0.0 if early_callback else self.config.call_duration
            call = SimulatedCall(
                call_id=str(uuid.uuid4()),
                campaign_id=campaign_id,
                user_id=user_id,
                phone_number=phone_number,
                otp=otp,
                callback_url=callback_url,
                created=created,
                final_at=created + timedelta(seconds=call_duration),
                status=status,
                duration=constants.SUCCESS_DURATION if success else 0,
                keypress=otp if success else "",
                received_at=time.time() if received_at is None else received_at,
            )
            self._calls.append(call)
            if callback_url and not early_callback:
                delay = call_duration + self.config.callback_delay
                self._callbacks.schedule(
                    delay, functools.partial(self._post_callback, call, callback_copies)
                )
        if callback_url and early_callback:
            # Outside the lock: the receiver may well call the sandbox back while we wait.
            with callback_session() as session:
                self._post_callback(call, callback_copies, session)
        return call

    def _post_callback(self, call: SimulatedCall, copies: int, session: requests.Session) -> None:
        payload = call.report_data()
        for _ in range(copies):
            result: int | str
            try:
                response = session.post(call.callback_url, json=payload, timeout=CALLBACK_TIMEOUT)
                result = response.status_code
            except Exception as err:  # noqa: BLE001  (a callback must never crash the sandbox)
                # The class name only: the message would repeat the callback URL and its secret.
                result = type(err).__name__
            with self._lock:
                call.callback_responses.append(result)

    def wait_for_callbacks(self, timeout: float = 5) -> bool:
        """Block until every scheduled callback has been posted; False if ``timeout`` ran out."""
        return self._callbacks.join(timeout)

    def script(self, phone_number: str, outcomes: list[str]) -> None:
        """End the next calls to ``phone_number`` with ``outcomes``, one status each, in order;
        once they are used up, the last digit decides again. An empty list clears the script."""
        if not isinstance(outcomes, list) or not all(
            isinstance(outcome, str) and outcome for outcome in outcomes
        ):
            raise ValueError("outcomes must be a list of non-empty status strings")
        with self._lock:
            if outcomes:
                self._scripts[phone_number] = list(outcomes)
            else:
                self._scripts.pop(phone_number, None)

    def _next_outcome(self, phone_number: str) -> str:
        script = self._scripts.get(phone_number)
        if script:
            return script.pop(0)
        return constants.OUTCOME_BY_LAST_DIGIT.get(phone_number[-1], constants.SUCCESS)

    # Faults

    def inject(
        self, kind: str, *, endpoint: str | None = None, times: int = 1, **params: Any
    ) -> None:
        """Queue a fault for the next ``times`` requests to ``endpoint`` (None: any endpoint)."""
        if kind not in FAULT_DEFAULTS:
            raise ValueError(f"unknown fault kind {kind!r}; known: {', '.join(FAULT_DEFAULTS)}")
        unknown = set(params) - set(FAULT_DEFAULTS[kind])
        if unknown:
            raise ValueError(f"fault {kind!r} takes no parameter {', '.join(sorted(unknown))}")
        bound = FAULT_ENDPOINTS.get(kind)
        if bound is not None:
            if endpoint not in (None, bound):
                raise ValueError(f"fault {kind!r} only applies to endpoint {bound!r}")
            endpoint = bound
        if endpoint is not None and endpoint not in ENDPOINTS:
            raise ValueError(f"endpoint must be one of {ENDPOINTS} or None")
        if not isinstance(times, int) or times < 1:
            raise ValueError("times must be a positive integer")
        with self._lock:
            self._faults.append(Fault(kind, endpoint, times, {**FAULT_DEFAULTS[kind], **params}))

    def take_fault(self, endpoint: str) -> Fault | None:
        """Consume one use of the oldest fault matching ``endpoint``."""
        with self._lock:
            for fault in self._faults:
                if fault.endpoint in (None, endpoint):
                    fault.remaining -= 1
                    if fault.remaining == 0:
                        self._faults.remove(fault)
                    return dataclasses.replace(fault)
            return None

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    # Request log

    def record(self, request: RecordedRequest) -> None:
        with self._lock:
            self._requests.append(request)

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._requests)

    def requests_for(self, endpoint: str) -> list[RecordedRequest]:
        with self._lock:
            return [request for request in self._requests if request.endpoint == endpoint]

    @property
    def token_requests(self) -> int:
        return len(self.requests_for("token"))


provider = SandboxProvider()
