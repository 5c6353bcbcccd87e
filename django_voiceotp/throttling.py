"""Who is asking (the client's address, taken safely) and DRF throttles over the abuse limits."""

from __future__ import annotations

import ipaddress
import logging
import threading

from rest_framework.throttling import BaseThrottle

from . import limits
from .conf import SETTINGS_NAME, voiceotp_settings
from .exceptions import ImproperlyConfigured

logger = logging.getLogger("django_voiceotp")

#: What a client is counted as when its address is unknown: every such client shares this one
#: subject of the per-client limit, so a server that cannot see addresses (gunicorn on a UNIX
#: socket with no trusted proxy header) counts them together instead of not at all.
UNKNOWN_CLIENT = "unknown"

_unknown_client_warned = False
_unknown_client_lock = threading.Lock()


def client_ip(request) -> str:
    """The address of the client behind ``request``, or ``UNKNOWN_CLIENT``.

    ``REMOTE_ADDR``, unless ``TRUSTED_PROXY_HEADER`` names a header that your own proxies set
    (e.g. ``X-Forwarded-For``): then the entry ``TRUSTED_PROXY_HOPS`` places from its right, the
    one your outermost proxy added. Entries left of it were written by the client and prove
    nothing, so they are never used. With neither a valid header entry nor a valid
    ``REMOTE_ADDR`` (empty on a UNIX socket), the client is ``UNKNOWN_CLIENT``: counted with every
    other unknown client, never left unlimited. The first such request is logged as a warning.
    """
    header = voiceotp_settings.TRUSTED_PROXY_HEADER
    if header:
        address = _forwarded_address(request.headers.get(header, ""))
        if address:
            return address
    remote_addr = request.META.get("REMOTE_ADDR", "")
    address = _valid_ip(remote_addr) if isinstance(remote_addr, str) else None
    if address:
        return address
    _warn_unknown_client(remote_addr)
    return UNKNOWN_CLIENT


def _forwarded_address(value: str) -> str | None:
    """The entry ``TRUSTED_PROXY_HOPS`` places from the right of a forwarding header, if valid.

    Each proxy appends the address it received the request from, so behind ``n`` proxies of
    your own the client is the n-th entry from the right. With fewer entries than that the
    request did not come through them all: nothing in the header can be trusted.
    """
    hops = voiceotp_settings.TRUSTED_PROXY_HOPS
    if not isinstance(hops, int) or isinstance(hops, bool) or hops < 1:
        raise ImproperlyConfigured(
            f"{SETTINGS_NAME}['TRUSTED_PROXY_HOPS'] must be a whole number of at least 1; "
            f"it is {hops!r}."
        )
    entries = value.split(",")
    if len(entries) < hops:
        return None
    return _valid_ip(entries[-hops].strip())


def _valid_ip(value: str) -> str | None:
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        return None


def _warn_unknown_client(remote_addr: object) -> None:
    """Log once per process that clients are counted as one: the limit holds, but every client
    of the site may be refused together once it is reached."""
    global _unknown_client_warned
    with _unknown_client_lock:
        if _unknown_client_warned:
            return
        _unknown_client_warned = True
    logger.warning(
        "A request came with no usable client address (REMOTE_ADDR %s): clients without one "
        "share one per-client limit. Behind a proxy or on a UNIX socket, set "
        "%s['TRUSTED_PROXY_HEADER'] to the header your proxy sets. Logged once per process.",
        repr(remote_addr)[:80],
        SETTINGS_NAME,
    )


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
        self._wait = limits.retry_after(client_ip=client_ip(request))
        return self._wait is None

    def wait(self) -> float | None:
        return self._wait
