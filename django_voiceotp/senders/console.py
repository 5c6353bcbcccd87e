"""The console sender: the message an SMS would carry, written to standard output."""

from __future__ import annotations

import sys
import threading
from typing import TextIO

from ..models import Call

CONSOLE_SENDER = "django_voiceotp.senders.console_sender"

_lock = threading.Lock()


def console_sender(
    *, phone_number: str, otp: str, call: Call, stream: TextIO | None = None
) -> None:
    """Write the message an SMS sender would send to standard output, as Django's console e-mail
    backend does with e-mail: in development the passcode is meant to be read there.

    The ``django_voiceotp.W020`` check warns when it is configured with ``DEBUG`` off.
    """
    stream = stream or sys.stdout
    with _lock:  # one message at a time, whole, from worker threads
        stream.write(f"To: {phone_number}\nCall: {call.pk}\nYour code is {otp}.\n{'-' * 79}\n")
        stream.flush()
