"""Verifying a phone number: ``request_code`` calls it with a code, ``verify_code`` checks it.

Only a keyed hash of a code is stored; checks compare in constant time, count wrong tries and
change state with guarded updates, so a code verifies once however many checks run at once.
"""

from __future__ import annotations

import enum
import hmac
import ipaddress
import logging
import math
import secrets
from datetime import timedelta
from functools import partial
from uuid import UUID

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.crypto import salted_hmac

from . import limits, metrics, testnumbers
from .conf import voiceotp_settings
from .db import write_transaction
from .exceptions import InvalidOTP, InvalidPhoneNumber, RateLimited
from .models import Campaign, Verification
from .phone import mask_phone_number, normalize_phone_number
from .sending import resolve_campaign, send_otp
from .signals import code_failed, code_locked, code_requested, code_verified, send_robust

logger = logging.getLogger("django_voiceotp")

# Keys the code hash to this purpose: the same SECRET_KEY signs sessions and other things.
CODE_HASH_SALT = "django_voiceotp.verification.code"


class CheckResult(enum.Enum):
    """What a check of a code found. Only ``VERIFIED`` is true in a boolean context."""

    VERIFIED = "verified"
    #: The code is not the one sent; the try counts towards ``MAX_ATTEMPTS``.
    WRONG_CODE = "wrong_code"
    #: Older than ``CODE_TTL``.
    EXPIRED = "expired"
    #: It verified once already.
    USED = "used"
    #: ``MAX_ATTEMPTS`` wrong tries were made: the code is dead.
    LOCKED = "locked"
    #: A newer code was requested for the number.
    SUPERSEDED = "superseded"
    #: No code was requested for this number (or this verification is not of this number).
    NOT_FOUND = "not_found"

    def __bool__(self) -> bool:
        return self is CheckResult.VERIFIED


# -- codes ---------------------------------------------------------------------------------------


def generate_code(length: int | None = None) -> str:
    """A code of ``length`` (default ``CODE_LENGTH``) random digits, as a string: leading zeros
    are digits like any other."""
    length = length or voiceotp_settings.CODE_LENGTH
    return "".join(secrets.choice("0123456789") for _ in range(length))


def hash_code(code: str, *, context: str, secret: str | None = None) -> str:
    """HMAC-SHA256 of ``code`` under a key derived from ``SECRET_KEY``.

    ``context`` (the verification's id) binds the hash to one row, so equal codes hash apart
    and a hash copied to another row verifies nothing.
    """
    return salted_hmac(
        CODE_HASH_SALT, f"{context}:{code}", secret=secret, algorithm="sha256"
    ).hexdigest()


def code_matches(code: str, code_hash: str, *, context: str) -> bool:
    """Compare in constant time; keys in ``SECRET_KEY_FALLBACKS`` still verify during a rotation."""
    secrets_to_try = [settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", [])]
    return any(
        hmac.compare_digest(hash_code(code, context=context, secret=secret), code_hash)
        for secret in secrets_to_try
    )


# -- requesting a code ---------------------------------------------------------------------------


def request_code(
    phone_number: str,
    *,
    campaign: Campaign | str | None = None,
    client_ip: str | None = None,
    owner: bool = False,
) -> Verification:
    """Call ``phone_number`` with a new code; the pending code this client asked for before
    stops working.

    A code another client asked for is not cancelled while it is valid: a stranger could
    otherwise spoil every code its owner asks for. A request from another client waits instead
    (``RateLimited``, limit ``pending_code``) until that code is used or expires, unless it
    comes from the number's owner (``owner=True``), whose request replaces any pending code,
    or is for a test number. Clients are told apart by ``client_ip`` (IPv6 by /64, as the limits
    count them); calls without one are one client.

    A number in ``TEST_NUMBERS`` gets its fixed code and no call (a ``Call`` marked ``is_test``
    is recorded instead); the limits apply to it as to any number.

    :param phone_number: any common spelling.
    :param campaign: as for :func:`~django_voiceotp.send_otp`.
    :param client_ip: the address asking, counted against ``SENDS_PER_IP_PER_HOUR``; or
        ``"unknown"`` (``limits.UNKNOWN_CLIENT``) for a client whose address is not known,
        counted with every other such client. ``None`` (the default, for code that answers no
        client) counts no client.
    :param owner: True when the client asking has verified this number before (the HTTP API
        decides it with ``limits.clients.is_owner``): it may spend the share of the number's daily
        quota kept for its owner (``SENDS_RESERVED_FOR_OWNER_PER_DAY``), which other clients
        cannot, and its request replaces a pending code another client asked for. Pass True only
        for a client you recognise so; the default, False, is right for anyone else.
    :raises InvalidPhoneNumber: (``PhoneNumberNotAllowed`` for a number this site does not call).
    :raises RateLimited: with ``retry_after`` seconds, when a limit refuses; no call is placed.
    :raises CampaignUnavailable: as ``send_otp``.
    :raises ValueError: for a ``client_ip`` that is none of these.
    """
    address = _client_address(client_ip)
    number = limits.allowed_number(phone_number)  # parsed here once, for good
    resolved_campaign = resolve_campaign(campaign)
    fixed_code = number.fixed_code  # a test number's, as the gate decided it
    code = fixed_code or generate_code()

    # Counted first and given back if anything below fails, so a refusal places no call.
    with (
        limits.admit(number, client_ip=address or client_ip, owner=owner) as phone_number,
        write_transaction(),
    ):
        now = timezone.now()
        # The owner's request replaces any pending code; so does one for a test number, which
        # calls nobody and whose testers share it.
        _supersede_pending(
            phone_number, address, replace_others=owner or fixed_code is not None, now=now
        )
        verification = Verification(
            phone_number=phone_number,
            client_ip=address,
            created_at=now,
            expires_at=now + timedelta(seconds=voiceotp_settings.CODE_TTL),
        )
        verification.code_hash = hash_code(code, context=str(verification.pk))
        if fixed_code is None:
            verification.call = send_otp(phone_number, code, campaign=resolved_campaign)
        else:
            # A test number: its code is checked as any other, but nobody is called.
            verification.is_test = True
            verification.call = testnumbers.create_test_call(
                phone_number, campaign=resolved_campaign
            )
        verification.save(force_insert=True)
        _log(verification, "code requested")
        _announce(code_requested, verification)
    return verification


def _supersede_pending(
    phone_number: str, client_ip: str | None, *, replace_others: bool, now
) -> None:
    """Supersede the number's pending codes, unless another client's is still valid.

    :raises RateLimited: (limit ``pending_code``, ``retry_after`` until that code expires) when
        a client other than the one asking holds a valid pending code and ``replace_others`` is
        false. Raised inside the gate, so the quota is given back and no call is placed.
    """
    pending = Verification.objects.filter(
        phone_number=phone_number, state=Verification.State.PENDING
    )
    if not replace_others:
        asking = _client_subject(client_ip)
        others = [
            expires_at
            for address, expires_at in pending.filter(expires_at__gt=now).values_list(
                "client_ip", "expires_at"
            )
            if _client_subject(address) != asking
        ]
        if others:
            metrics.limit_refused("pending_code")
            wait = math.ceil((max(others) - now).total_seconds())
            raise RateLimited(max(wait, 1), limit="pending_code")
    pending.update(state=Verification.State.SUPERSEDED)


def _client_subject(address: str | None) -> str | None:
    # One client as the limits count one: an IPv6 subscriber holds a whole /64.
    return limits.ip_subject(address) if address else None


def _client_address(client_ip: str | None) -> str | None:
    """The address to store for ``client_ip``: None for an unknown client (or none at all).

    :raises ValueError: for anything but an address, ``UNKNOWN_CLIENT`` or None.
    """
    if client_ip is None or client_ip == limits.UNKNOWN_CLIENT:
        return None
    return str(ipaddress.ip_address(client_ip))


# -- checking a code -----------------------------------------------------------------------------


def verify_code(
    phone_number: str, code: str, *, verification: Verification | UUID | str | None = None
) -> bool:
    """True when ``code`` is the code last sent to ``phone_number``, still valid and unused.

    A code verifies once; it expires after ``CODE_TTL`` seconds and dies after ``MAX_ATTEMPTS``
    wrong tries. :func:`check_code` says why a check failed.

    :param verification: check this verification (or its id) rather than the number's latest.
    """
    return check_code(phone_number, code, verification=verification) is CheckResult.VERIFIED


def check_code(
    phone_number: str, code: str, *, verification: Verification | UUID | str | None = None
) -> CheckResult:
    """Check ``code`` like :func:`verify_code`, returning what was found.

    Spaces and dashes in ``code`` are ignored: ``"482 915"`` and ``"482-915"`` are ``482915``,
    as a person may copy or type a code read out in groups.

    :raises InvalidPhoneNumber: when ``phone_number`` is not a number at all.
    :raises InvalidOTP: when ``code`` is not a string (an int would have lost its leading zeros).
    """
    if not isinstance(code, str):
        raise InvalidOTP("The code must be a string of digits.")
    try:
        phone_number = normalize_phone_number(phone_number)
    except InvalidPhoneNumber:
        # A test number may lie outside the assigned ranges (or did when its code was asked
        # for), where normalize_phone_number refuses: its verification is found all the same.
        form = testnumbers.possible_form(phone_number)
        if form is None:
            raise
        phone_number = form
    found = _find(phone_number, verification)
    if found is None:
        logger.info("Code checked for %s: none was requested.", mask_phone_number(phone_number))
        return CheckResult.NOT_FOUND
    return _check(found, without_separators(code))


def without_separators(code: str) -> str:
    """``code`` without the spaces and dashes a person may put between its digits."""
    return "".join(code.split()).replace("-", "")


def _find(phone_number: str, verification: Verification | UUID | str | None):
    queryset = Verification.objects.filter(phone_number=phone_number)
    if verification is None:
        return queryset.order_by("-created_at").first()
    pk = verification.pk if isinstance(verification, Verification) else verification
    try:
        return queryset.filter(pk=pk).first()
    except (ValidationError, ValueError):  # not a UUID
        return None


def _check(verification: Verification, code: str) -> CheckResult:
    now = timezone.now()
    max_attempts = voiceotp_settings.MAX_ATTEMPTS
    refusal = _refusal(verification, now, max_attempts)
    if refusal is not None:
        return _failed(verification, refusal)
    if verification.is_test and testnumbers.guesses_spent(verification.phone_number):
        # A fixed code outlives every verification: its wrong guesses are counted across them.
        return _lock_test_number(verification)

    # Each write is guarded by the state it expects: of two checks at once, the database lets
    # one through and the other updates nothing (under READ COMMITTED, PostgreSQL's default,
    # the loser re-reads the row once the winner commits; under SERIALIZABLE it gets an error).
    still_pending = Verification.objects.filter(
        pk=verification.pk,
        state=Verification.State.PENDING,
        expires_at__gt=now,
        attempts__lt=max_attempts,
    )
    if code_matches(code, verification.code_hash, context=str(verification.pk)):
        if still_pending.update(state=Verification.State.VERIFIED, verified_at=now):
            verification.state = Verification.State.VERIFIED
            verification.verified_at = now
            _log(verification, "verified")
            _announce(code_verified, verification)
            return CheckResult.VERIFIED
    elif still_pending.update(attempts=F("attempts") + 1):
        if verification.is_test and testnumbers.count_wrong_guess(verification.phone_number):
            return _lock_test_number(verification)
        locked = Verification.objects.filter(
            pk=verification.pk, state=Verification.State.PENDING, attempts__gte=max_attempts
        ).update(state=Verification.State.LOCKED)
        verification.refresh_from_db(fields=["attempts", "state"])
        if locked:
            _log(verification, "locked")
            _announce(code_locked, verification)
        return _failed(verification, CheckResult.WRONG_CODE)

    # Another check changed the code meanwhile: report what it became.
    verification.refresh_from_db(fields=["attempts", "state"])
    refusal = _refusal(verification, now, max_attempts)
    return _failed(verification, CheckResult.LOCKED if refusal is None else refusal)


def _lock_test_number(verification: Verification) -> CheckResult:
    """The test number had its wrong guesses of the day: this code dies, right or wrong."""
    locked = Verification.objects.filter(
        pk=verification.pk, state=Verification.State.PENDING
    ).update(state=Verification.State.LOCKED)
    verification.refresh_from_db(fields=["attempts", "state"])
    if locked:
        _log(verification, "locked")
        _announce(code_locked, verification)
    return _failed(verification, CheckResult.LOCKED)


def _refusal(verification: Verification, now, max_attempts: int) -> CheckResult | None:
    if verification.state == Verification.State.VERIFIED:
        return CheckResult.USED
    if verification.state == Verification.State.SUPERSEDED:
        return CheckResult.SUPERSEDED
    if verification.state == Verification.State.LOCKED or verification.attempts >= max_attempts:
        return CheckResult.LOCKED
    if verification.expires_at <= now:
        return CheckResult.EXPIRED
    return None


def _failed(verification: Verification, reason: CheckResult) -> CheckResult:
    _log(verification, f"check failed: {reason.value}")
    _announce(code_failed, verification, reason=reason)
    return reason


# -- signals and logs ----------------------------------------------------------------------------


def _announce(signal, verification: Verification, **kwargs) -> None:
    transaction.on_commit(
        partial(send_robust, signal, Verification, verification=verification, **kwargs)
    )


def _log(verification: Verification, event: str) -> None:
    # The code never appears here: only the id, a masked number and counts.
    logger.info(
        "Verification %s %s (phone %s, attempts %s)",
        verification.pk,
        event,
        verification.masked_phone_number,
        verification.attempts,
        extra={
            "verification_id": str(verification.pk),
            "phone": verification.masked_phone_number,
            "event": event,
        },
    )
