"""The passcode sealed at rest: authenticated encryption under a key derived from SECRET_KEY."""

from __future__ import annotations

import base64
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.utils.crypto import salted_hmac

#: Separates this key from every other key Django or the app derives from SECRET_KEY.
SEALING_SALT = "django_voiceotp.sealing.otp"


class PasscodeUnreadable(Exception):
    """A sealed passcode that no current or fallback key opens, or that was altered.

    Carries no part of the sealed text: the message is the same for every such passcode.
    """

    def __init__(self) -> None:
        super().__init__("The stored passcode cannot be opened with SECRET_KEY or its fallbacks.")


def seal_otp(otp: str) -> str:
    """``otp`` encrypted and authenticated under the current SECRET_KEY; "" stays ""."""
    if not otp:
        return ""
    return _fernet().encrypt(otp.encode()).decode("ascii")


def open_otp(sealed: str) -> str:
    """The passcode ``seal_otp`` sealed, under SECRET_KEY or any of SECRET_KEY_FALLBACKS.

    :raises PasscodeUnreadable: when no key opens it (keys rotated without a fallback, an
        altered row, or a passcode stored in clear by code that bypassed the app).
    """
    if not sealed:
        raise PasscodeUnreadable
    try:
        return _fernet().decrypt(sealed.encode("ascii")).decode()
    except (InvalidToken, UnicodeError) as err:
        raise PasscodeUnreadable from err


def _fernet() -> MultiFernet:
    # Keyed by the keys, so a rotated SECRET_KEY (or override_settings in tests) takes effect.
    return _fernet_for(settings.SECRET_KEY, tuple(settings.SECRET_KEY_FALLBACKS))


@lru_cache(maxsize=4)
def _fernet_for(key: str, fallback_keys: tuple[str, ...]) -> MultiFernet:
    # MultiFernet seals with the first key and opens with any: SECRET_KEY_FALLBACKS honoured.
    return MultiFernet([Fernet(_derived_key(secret)) for secret in (key, *fallback_keys)])


def _derived_key(secret: str) -> bytes:
    digest = salted_hmac(SEALING_SALT, "otp", secret=secret, algorithm="sha256").digest()
    return base64.urlsafe_b64encode(digest)
