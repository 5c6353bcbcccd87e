"""The simulated Stringee account's in-memory state: calls placed, what each hears, its events."""

from __future__ import annotations

import dataclasses
import functools
import itertools
import threading
import time
from typing import Any

import requests

from ..posting import CallbackQueue
from . import API_KEY_SECRET, API_KEY_SID, FROM_NUMBER

FAULT_KINDS = ("http_error", "timeout", "bad_token")
OUTCOMES = ("answered", "busy", "no_answer", "failed")
#: How each unanswered outcome ends, as a SIP status and its phrase (the "Call Events" sample).
END_CAUSES = {
    "busy": "486 Busy Here",
    "no_answer": "408 Request Timeout",
    "failed": "503 Service Unavailable",
}
EVENT_TIMEOUT = 5.0


@dataclasses.dataclass
class PlacedCall:
    call_id: str
    to_number: str
    from_number: str
    #: What the person hears: every ``talk`` action's text, in order.
    spoken: list[str]
    voice: str
    speed: Any
    event_url: str
    outcome: str
    #: (call_status, HTTP status or the error's class name) of every event posted.
    events: list[tuple[str, str]] = dataclasses.field(default_factory=list)

    def listing(self) -> dict[str, Any]:
        return {
            "call_id": self.call_id,
            "to": self.to_number,
            "from": self.from_number,
            "spoken": self.spoken,
            "voice": self.voice,
            "speed": self.speed,
            "outcome": self.outcome,
            "events": [status for status, _ in self.events],
        }


@dataclasses.dataclass
class Fault:
    kind: str
    params: dict[str, Any]
    times: int


class Exchange:
    """The account, the calls it placed and what it will do next."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._numbers = itertools.count(1)
        self._posting = CallbackQueue()
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self.api_key_sid = API_KEY_SID
            self.api_key_secret = API_KEY_SECRET
            self.from_number = FROM_NUMBER
            #: Seconds between two events of a call.
            self.event_delay = 0.05
            self.answer_duration = 7
            self.calls: list[PlacedCall] = []
            self.faults: list[Fault] = []
            self.scripts: dict[str, list[str]] = {}
            self._posting.cancel()
            self.resets = getattr(self, "resets", 0) + 1

    # -- scripting and faults ----------------------------------------------------------------

    def script(self, to_number: str, outcomes: list[str]) -> None:
        unknown = set(outcomes) - set(OUTCOMES)
        if unknown:
            raise ValueError(f"Unknown outcomes: {sorted(unknown)}")
        with self._lock:
            self.scripts[to_number] = list(outcomes)

    def inject(self, kind: str, *, times: int = 1, **params: Any) -> None:
        if kind not in FAULT_KINDS:
            raise ValueError(f"Unknown fault {kind!r}; one of {FAULT_KINDS}.")
        with self._lock:
            self.faults.append(Fault(kind, params, times))

    def next_fault(self) -> Fault | None:
        with self._lock:
            if not self.faults:
                return None
            fault = self.faults[0]
            fault.times -= 1
            if fault.times <= 0:
                self.faults.pop(0)
            return fault

    # -- calls -------------------------------------------------------------------------------

    def place(
        self, *, to_number: str, from_number: str, talks: list[dict[str, Any]], event_url: str
    ) -> PlacedCall:
        with self._lock:
            scripted = self.scripts.get(to_number)
            if scripted:
                outcome = scripted.pop(0)
            else:
                outcome = "busy" if to_number.endswith("9") else "answered"
            call = PlacedCall(
                call_id=f"call-vn-1-SANDBOX{next(self._numbers):05d}-{int(time.time() * 1000)}",
                to_number=to_number,
                from_number=from_number,
                spoken=[str(talk.get("text", "")) for talk in talks],
                voice=str(talks[0].get("voice", "")) if talks else "",
                speed=talks[0].get("speed") if talks else None,
                event_url=event_url,
                outcome=outcome,
            )
            self.calls.append(call)
            if event_url:
                self._schedule_events(call, self._events(call), self.resets)
        return call

    def find(self, call_id: str) -> PlacedCall | None:
        return next((call for call in self.calls if call.call_id == call_id), None)

    def wait_for_events(self, timeout: float = 10) -> bool:
        """Whether every call's events were posted within ``timeout`` seconds."""
        return self._posting.join(timeout)

    def _events(self, call: PlacedCall) -> list[dict[str, Any]]:
        answered = call.outcome == "answered"
        statuses = ["ringing", "answered", "ended"] if answered else ["ringing", "ended"]
        events = []
        for status in statuses:
            event: dict[str, Any] = {
                "call_status": status,
                "project_id": 1,
                "account_sid": "ACsandbox",
                "timestamp_ms": int(time.time() * 1000),
                "type": "stringee_call",
                "call_id": call.call_id,
                "from": {"number": call.from_number, "alias": call.from_number, "type": "external"},
                "to": {"number": call.to_number, "alias": call.to_number, "type": "external"},
            }
            if status == "ended":
                event.update(
                    callCreatedReason="REST_API_CALLOUT",
                    endCallCause="200 OK" if answered else END_CAUSES[call.outcome],
                    endedBy="EXTERNAL" if answered else "STRINGEE",
                    callType="CALL",
                    duration=self.answer_duration + 3 if answered else 30,
                    answerDuration=self.answer_duration if answered else 0,
                )
            events.append(event)
        return events

    def _schedule_events(self, call: PlacedCall, events: list[dict[str, Any]], resets: int) -> None:
        """Post ``events`` in turn, ``event_delay`` apart, unless the sandbox is reset."""
        post = functools.partial(self._post_event, call, events, resets)
        self._posting.schedule(self.event_delay, post)

    def _post_event(
        self, call: PlacedCall, events: list[dict[str, Any]], resets: int, session: requests.Session
    ) -> None:
        if self.resets != resets:
            return
        event, *later = events
        try:
            response = session.post(call.event_url, json=event, timeout=EVENT_TIMEOUT)
            result = str(response.status_code)
        except requests.RequestException as err:
            # The class name only: the message would repeat the URL and its token.
            result = type(err).__name__
        call.events.append((event["call_status"], result))
        if later:
            self._schedule_events(call, later, resets)


exchange = Exchange()
