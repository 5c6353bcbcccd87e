"""The simulated eSMS gateway's in-memory state: messages, request ids, faults, delivery reports."""

from __future__ import annotations

import dataclasses
import threading
import time
import uuid
from typing import Any

import requests

from . import API_KEY, BRANDNAME, SECRET_KEY

#: How long a RequestId blocks a duplicate ("Each RequestId passed is valid for blocking for 24
#: hours").
REQUEST_ID_LIFETIME = 24 * 3600
#: "The callback will be retried a maximum of 5 times."
CALLBACK_ATTEMPTS = 5
CALLBACK_TIMEOUT = 5.0
FAULT_KINDS = ("http_error", "slow", "garbage")


@dataclasses.dataclass
class Message:
    sms_id: str
    phone: str
    content: str
    brandname: str
    sms_type: str
    is_unicode: bool
    sandbox: bool
    request_id: str
    callback_url: str
    sent_at: float
    #: Final at the operator: (SendSuccess, SendFailed) once delivered, None before.
    outcome: tuple[int, int] | None = None

    def listing(self) -> dict[str, Any]:
        return {
            "SMSID": self.sms_id,
            "Phone": self.phone,
            "Content": self.content,
            "Brandname": self.brandname,
            "SmsType": self.sms_type,
            "IsUnicode": self.is_unicode,
            "Sandbox": self.sandbox,
            "RequestId": self.request_id,
            "CallbackUrl": self.callback_url,
        }


@dataclasses.dataclass
class Fault:
    kind: str
    params: dict[str, Any]
    times: int


class Gateway:
    """The account, the messages sent and what the gateway will do next."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with getattr(self, "_lock", threading.Lock()):
            self.api_key = API_KEY
            self.secret_key = SECRET_KEY
            self.brandnames = {BRANDNAME}
            self.blocked_phones: set[str] = set()
            self.messages: list[Message] = []
            self.request_ids: dict[str, float] = {}
            self.faults: list[Fault] = []
            #: (SMSID, HTTP status or the error's class name) of every callback attempt.
            self.callbacks: list[tuple[str, str]] = []
            #: Every request to the API, (endpoint, body or query) in order: keys included,
            #: for tests that check what was sent. Never printed.
            self.requests: list[tuple[str, Any]] = []
            self.callback_delay = 0.0
            self.resets = getattr(self, "resets", 0) + 1

    # -- faults ----------------------------------------------------------------------------------

    def inject(self, kind: str, *, times: int = 1, **params: Any) -> None:
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault {kind!r}; one of {FAULT_KINDS}")
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

    # -- messages --------------------------------------------------------------------------------

    def record(self, endpoint: str, body: Any) -> None:
        with self._lock:
            self.requests.append((endpoint, body))

    def claim_request_id(self, request_id: str) -> bool:
        """Keep ``request_id`` for 24 hours; False when it was already kept (a duplicate)."""
        now = time.time()
        with self._lock:
            kept = self.request_ids.get(request_id)
            if kept is not None and now - kept < REQUEST_ID_LIFETIME:
                return False
            self.request_ids[request_id] = now
            return True

    def accept(self, **fields: Any) -> Message:
        """Take a message. One sent with ``Sandbox`` is listed (for tests and demos) but neither
        delivered nor reported, and its SMSID is unknown to GetSendStatus: eSMS stores none."""
        message = Message(sms_id=uuid.uuid4().hex, sent_at=time.time(), **fields)
        with self._lock:
            self.messages.append(message)
        if not message.sandbox:
            threading.Thread(target=self._deliver, args=(message, self.resets), daemon=True).start()
        return message

    def find(self, sms_id: str) -> Message | None:
        with self._lock:
            return next((m for m in self.messages if m.sms_id == sms_id and not m.sandbox), None)

    def listing(self, phone: str | None = None) -> list[dict[str, Any]]:
        with self._lock:
            messages = [m for m in self.messages if phone is None or m.phone == phone]
        return [message.listing() for message in reversed(messages)]

    def _deliver(self, message: Message, resets: int) -> None:
        if self.callback_delay:
            time.sleep(self.callback_delay)
        if resets != self.resets:
            return  # the test that sent it is over
        failed = message.phone.endswith("9")
        message.outcome = (0, 1) if failed else (1, 0)
        if message.callback_url:
            self._call_back(message)

    def _call_back(self, message: Message) -> None:
        success, failed = message.outcome or (0, 0)
        params = {
            "SMSID": message.sms_id,
            "SendFailed": str(failed),
            "SendStatus": "5",
            "SendSuccess": str(success),
            "TotalPrice": "0.0000" if failed else "850.0000",
            "TotalReceiver": "1",
            "TotalSent": "1",
            "RequestId": message.request_id,
            "TypeId": message.sms_type,
            "telcoid": "1",
            "phonenumber": message.phone,
            "switchsmsid": "",
        }
        for _ in range(CALLBACK_ATTEMPTS):
            try:
                response = requests.get(
                    message.callback_url, params=params, timeout=CALLBACK_TIMEOUT
                )
            except requests.RequestException as err:
                with self._lock:
                    self.callbacks.append((message.sms_id, type(err).__name__))
                continue
            with self._lock:
                self.callbacks.append((message.sms_id, str(response.status_code)))
            return


gateway = Gateway()
