"""Who is asking: the client's address, taken safely, and whether it owns the number it asks for
(the owner cookie, or an address that verified the number)."""

from __future__ import annotations

import ipaddress
import logging
import threading
from datetime import timedelta

from django.conf import settings
from django.utils import timezone
from django.utils.crypto import salted_hmac

from ..conf import SETTINGS_NAME, voiceotp_settings
from ..exceptions import ImproperlyConfigured, InvalidPhoneNumber
from ..models import Verification
from .gate import allowed_number

logger = logging.getLogger("django_voiceotp")

#: What a client is counted as when its address is unknown: every such client shares this one
#: subject of the per-client limit, so a server that cannot see addresses (gunicorn on a UNIX
#: socket with no trusted proxy header) counts them together instead of not at all.
UNKNOWN_CLIENT = "unknown"

#: The cookie that tells a number's owner: the keyed hashes of the numbers this browser verified.
OWNER_COOKIE = "voiceotp_owner"
# Key the cookie's signature and the numbers' hashes to this purpose: SECRET_KEY signs other things.
# The strings name the module these lived in first: changed, every owner cookie already set would
# stop counting.
OWNER_COOKIE_SALT = "django_voiceotp.throttling.owner_cookie"
OWNER_NUMBER_SALT = "django_voiceotp.throttling.owner_number"
#: Numbers one cookie remembers, the latest verified first: a browser verifies few numbers.
OWNER_COOKIE_NUMBERS = 5

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


# -- the number's owner ----------------------------------------------------------------------------


def is_owner(request, phone_number: str) -> bool:
    """True when the client behind ``request`` has verified ``phone_number`` before.

    It holds the owner cookie for the number (set by :func:`remember_owner` when it checked a
    code right), or its address asked for a code of the number that was verified. Either within
    ``OWNER_MAX_AGE`` seconds; 0 recognises no owner. Pass the answer as ``owner`` to
    ``request_code`` or ``limits.admit``: an owner may spend the share of the number's day that
    strangers cannot (``SENDS_RESERVED_FOR_OWNER_PER_DAY``).

    :param phone_number: any spelling; what the gate handed back is not parsed again. A number
        that is not callable has no owner.
    """
    max_age = voiceotp_settings.OWNER_MAX_AGE
    if not max_age:
        return False
    try:
        number = allowed_number(phone_number)
    except InvalidPhoneNumber:
        return False
    owned = set(_owned_numbers(request, max_age))
    if any(_number_hash(number, secret) in owned for secret in _secrets()):
        return True
    address = client_ip(request)
    if address == UNKNOWN_CLIENT:
        return False  # shared by every unknown client: it proves nothing
    return Verification.objects.filter(
        phone_number=number,
        client_ip=address,
        state=Verification.State.VERIFIED,
        verified_at__gte=timezone.now() - timedelta(seconds=max_age),
    ).exists()


def remember_owner(request, response, phone_number: str) -> None:
    """Set the owner cookie on ``response``: the client behind ``request`` has just verified
    ``phone_number``.

    Signed and salted (``django.core.signing``), it holds a keyed hash of the number, never the
    number; ``HttpOnly``, ``SameSite=Lax``, ``Secure`` when the request is, and it lasts
    ``OWNER_MAX_AGE`` seconds from the last verification. It keeps the latest
    ``OWNER_COOKIE_NUMBERS`` numbers.
    """
    max_age = voiceotp_settings.OWNER_MAX_AGE
    if not max_age:
        return
    try:
        number = allowed_number(phone_number)
    except InvalidPhoneNumber:
        return  # the destination rules changed since the code was sent: no owner to remember
    digest = _number_hash(number, settings.SECRET_KEY)
    kept = [owned for owned in _owned_numbers(request, max_age) if owned != digest]
    response.set_signed_cookie(
        OWNER_COOKIE,
        ".".join([digest, *kept][:OWNER_COOKIE_NUMBERS]),
        salt=OWNER_COOKIE_SALT,
        max_age=max_age,
        httponly=True,
        secure=request.is_secure(),
        samesite="Lax",
    )


def _owned_numbers(request, max_age: int) -> list[str]:
    """The hashes in the request's owner cookie; none if it is missing, forged or too old."""
    value = request.get_signed_cookie(
        OWNER_COOKIE, default="", salt=OWNER_COOKIE_SALT, max_age=max_age
    )
    return [digest for digest in value.split(".") if digest]


def _number_hash(number: str, secret: str) -> str:
    digest = salted_hmac(OWNER_NUMBER_SALT, number, secret=secret, algorithm="sha256").hexdigest()
    return digest[:32]  # 128 bits tell numbers apart, and several fit in one cookie


def _secrets() -> list[str]:
    # A cookie set before a key rotation still counts while the old key is a fallback.
    return [settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", [])]
