"""Who is asking (the client's address, taken safely) and DRF throttles over the abuse limits."""

from __future__ import annotations

import ipaddress

from rest_framework.throttling import BaseThrottle

from . import limits
from .conf import voiceotp_settings
from .exceptions import InvalidPhoneNumber
from .phone import normalize_phone_number


def client_ip(request) -> str | None:
    """The address of the client behind ``request``.

    ``REMOTE_ADDR``, unless ``TRUSTED_PROXY_HEADER`` names a header that your own proxy sets
    (e.g. ``X-Forwarded-For``): then the last address in it, the one that proxy added. Earlier
    entries were written by the client and prove nothing, so they are never used.
    """
    header = voiceotp_settings.TRUSTED_PROXY_HEADER
    if header:
        forwarded = request.headers.get(header, "")
        address = _valid_ip(forwarded.split(",")[-1].strip())
        if address:
            return address
    return _valid_ip(request.META.get("REMOTE_ADDR", ""))


def _valid_ip(value: str) -> str | None:
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        return None


class VerificationRequestThrottle(BaseThrottle):
    """Refuses a request for a code that the abuse limits would refuse, before any work is done.

    It reads the same counters ``request_code`` consumes (cooldown and counts of the number in
    ``phone_number``, count of the client's address) without counting, so it can also guard a
    project's own views; ``request_code`` remains the atomic judge.
    """

    def __init__(self) -> None:
        self._wait: int | None = None

    def allow_request(self, request, view) -> bool:
        phone_number = None
        raw = request.data.get("phone_number") if hasattr(request.data, "get") else None
        if isinstance(raw, str):
            try:
                phone_number = normalize_phone_number(raw)
            except InvalidPhoneNumber:
                pass  # the view answers 400 for it
        self._wait = limits.retry_after(phone_number, client_ip(request))
        return self._wait is None

    def wait(self) -> float | None:
        return self._wait
