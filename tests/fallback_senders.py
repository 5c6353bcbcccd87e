"""Fallback senders the tests name in FALLBACK_SENDER, recording what they were handed."""

from __future__ import annotations

import threading

from django_voiceotp.exceptions import FallbackRejected

_lock = threading.Lock()
#: (phone_number, otp, call id) of every call to a sender below, in order.
handed: list[tuple[str, str, int]] = []
#: How many more times ``flaky`` raises before it sends.
failures_left = 0


class SMSGatewayDown(Exception):
    pass


def record(*, phone_number, otp, call):
    with _lock:
        handed.append((phone_number, otp, call.pk))


def always_raising(*, phone_number, otp, call):
    record(phone_number=phone_number, otp=otp, call=call)
    # The passcode in the message, as a careless sender might: it must not reach the logs.
    raise SMSGatewayDown(f"could not send {otp} to {phone_number}")


def flaky(*, phone_number, otp, call):
    global failures_left
    record(phone_number=phone_number, otp=otp, call=call)
    with _lock:
        if failures_left:
            failures_left -= 1
            raise SMSGatewayDown(f"could not send {otp}")


def rejecting(*, phone_number, otp, call):
    record(phone_number=phone_number, otp=otp, call=call)
    # A final refusal whose message repeats the passcode: neither retried nor logged.
    raise FallbackRejected(f"will never send {otp}", code="101")


def reset():
    global failures_left
    with _lock:
        handed.clear()
        failures_left = 0
