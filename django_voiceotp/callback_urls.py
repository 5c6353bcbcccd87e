"""Each call's own callback URL: a token that names the call, signed and dated, in the path.

The provider signs nothing, so the token is what authenticates a callback (docs/security.rst).
"""

from __future__ import annotations

import logging
from datetime import timedelta
from functools import lru_cache

from django.conf import settings
from django.core import signing
from django.urls import NoReverseMatch, reverse

from .conf import voiceotp_settings
from .exceptions import ImproperlyConfigured
from .models import Call

logger = logging.getLogger("django_voiceotp")

CALLBACK_TOKEN_SALT = "django_voiceotp.callback"


def callback_url_for(call: Call) -> str | None:
    """The call's own callback URL, carrying a signed, dated token; None when results are only
    polled. The token is refused after ``CALLBACK_TOKEN_MAX_AGE`` (see callback_token_max_age)."""
    base = voiceotp_settings.CALLBACK_BASE_URL
    if not base:
        return None
    try:
        path = reverse("django_voiceotp:callback", kwargs={"token": callback_token_for(call)})
    except NoReverseMatch:
        logger.warning(
            "CALLBACK_BASE_URL is set but django_voiceotp.urls is not included; polling only."
        )
        return None
    return base.rstrip("/") + path


def callback_token_for(call: Call) -> str:
    """The token of ``call``'s callback URL: its id, signed with the time of signing."""
    return _callback_signer().sign(str(call.pk))


def call_id_from_callback_token(token: str) -> int | None:
    """The call a callback token was signed for; None when forged, altered or too old."""
    max_age = callback_token_max_age()  # outside the try: a bad setting is not a bad token
    try:
        return int(_callback_signer().unsign(token, max_age=timedelta(seconds=max_age)))
    except (signing.BadSignature, ValueError):  # SignatureExpired is a BadSignature
        return None


def callback_token_max_age() -> float:
    """Seconds a callback URL stays valid: ``CALLBACK_TOKEN_MAX_AGE``, or by default a day past
    the last poll, when the call has its result or has failed with ``timeout`` long since."""
    max_age = voiceotp_settings.CALLBACK_TOKEN_MAX_AGE
    if max_age is None:
        return max(voiceotp_settings.POLL_SCHEDULE, default=0) + 24 * 3600
    if isinstance(max_age, bool) or not isinstance(max_age, (int, float)) or max_age <= 0:
        raise ImproperlyConfigured(
            "VOICEOTP['CALLBACK_TOKEN_MAX_AGE'] must be a positive number of seconds or None."
        )
    return float(max_age)


def _callback_signer() -> signing.TimestampSigner:
    # Keyed by the keys, so a rotated SECRET_KEY (or override_settings in tests) takes effect.
    return _signer_for(settings.SECRET_KEY, tuple(settings.SECRET_KEY_FALLBACKS))


@lru_cache(maxsize=4)
def _signer_for(key: str, fallback_keys: tuple[str, ...]) -> signing.TimestampSigner:
    return signing.TimestampSigner(
        key=key, fallback_keys=list(fallback_keys), salt=CALLBACK_TOKEN_SALT
    )
