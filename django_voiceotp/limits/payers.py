"""Who pays for a code's redials and fallback: the client that asked for it, remembered for the
code's lifetime so every follow-up is counted against the same client."""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from ..conf import voiceotp_settings
from .counters import KEY_PREFIX, limits_cache


@dataclass(frozen=True)
class Payer:
    """Whom the redials and fallback of a code are counted against: the client that asked for
    the code (None when none is known) and whether it was the number's owner."""

    client_ip: str | None = None
    owner: bool = False


#: The admission in progress (inside ``admit``'s block): ``send_otp`` records it for the call.
_admission: ContextVar[Payer | None] = ContextVar("voiceotp_admission", default=None)


@contextmanager
def paying(payer: Payer) -> Iterator[None]:
    """Within the block, ``payer`` is the client whose admission is in progress (``admit``)."""
    admission = _admission.set(payer)
    try:
        yield
    finally:
        _admission.reset(admission)


def remember_admission(call_id: int) -> None:
    """Record, for the redials and fallback of call ``call_id``, the client whose admission is
    in progress (inside :func:`admit`). Nothing when no follow-up can come or none is in
    progress."""
    payer = _admission.get()
    if payer is not None:
        record_payer(call_id, payer)


def follow_ups_possible() -> bool:
    return bool(voiceotp_settings.REDIAL_MAX or voiceotp_settings.FALLBACK_SENDER)


def record_payer(call_id: int, payer: Payer) -> None:
    """Remember whom the follow-ups of call ``call_id`` are counted against, as long as its
    passcode can be used (and an hour more). Nothing when no follow-up can come."""
    if not follow_ups_possible():
        return
    memory = math.ceil(float(voiceotp_settings.OTP_MAX_AGE)) + 3600
    limits_cache().set(_payer_key(call_id), [payer.client_ip, payer.owner], timeout=memory)


def recorded_payer(call_id: int) -> Payer | None:
    """What :func:`record_payer` kept for call ``call_id``; None when the cache has forgotten."""
    value = limits_cache().get(_payer_key(call_id))
    if not (isinstance(value, (list, tuple)) and len(value) == 2):
        return None
    client_ip, owner = value
    return Payer(client_ip if isinstance(client_ip, str) else None, owner is True)


def _payer_key(call_id: int) -> str:
    return f"{KEY_PREFIX}:payer:{int(call_id)}"
