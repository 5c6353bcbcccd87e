"""DRF throttles over the abuse limits: refuse early what the admission gate would refuse."""

from __future__ import annotations

from rest_framework.throttling import BaseThrottle

from .clients import client_ip
from .gate import retry_after


class VerificationRequestThrottle(BaseThrottle):
    """Refuses a request for a code from a client whose address is over its limit, before the
    body is read or any work is done.

    Only the address's counter is read here, never the number's: the body is not validated yet,
    and an invalid body must not learn (or be refused with) the wait of the number it names.
    The number's limits are applied after validation, by the admission gate in ``request_code``,
    which remains the atomic judge. Only ``POST`` is throttled (a CORS preflight is not a
    request for a code). A client of unknown address is counted as ``UNKNOWN_CLIENT``.
    """

    def __init__(self) -> None:
        self._wait: int | None = None

    def allow_request(self, request, view) -> bool:
        if request.method != "POST":
            return True
        self._wait = retry_after(client_ip=client_ip(request))
        return self._wait is None

    def wait(self) -> float | None:
        return self._wait
