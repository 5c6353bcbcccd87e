"""Who is asking (the client's address, taken safely) and DRF throttles over the abuse limits."""

from __future__ import annotations

import ipaddress

from rest_framework.throttling import BaseThrottle

from . import limits
from .conf import voiceotp_settings


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
    """Refuses a request for a code from a client whose address is over its limit, before the
    body is read or any work is done.

    Only the address's counter is read here, never the number's: the body is not validated yet,
    and an invalid body must not learn (or be refused with) the wait of the number it names.
    The number's limits are applied after validation, by the admission gate in ``request_code``,
    which remains the atomic judge. Only ``POST`` is throttled (a CORS preflight is not a
    request for a code).
    """

    def __init__(self) -> None:
        self._wait: int | None = None

    def allow_request(self, request, view) -> bool:
        if request.method != "POST":
            return True
        address = client_ip(request)
        self._wait = limits.retry_after(client_ip=address) if address else None
        return self._wait is None

    def wait(self) -> float | None:
        return self._wait
