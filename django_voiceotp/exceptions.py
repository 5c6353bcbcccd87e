"""Every error the app raises, in one tree."""

from __future__ import annotations

from typing import Any

from django.core import exceptions as django_exceptions


class VoiceOTPError(Exception):
    """Base class of every error raised by django-voiceotp."""


class ImproperlyConfigured(VoiceOTPError, django_exceptions.ImproperlyConfigured):
    """The VOICEOTP settings are missing or malformed."""


class InvalidPhoneNumber(VoiceOTPError, ValueError):
    """A phone number that cannot be called."""


class InvalidOTP(VoiceOTPError, ValueError):
    """A passcode that is not a string of digits of an accepted length."""


class CampaignUnavailable(VoiceOTPError, ValueError):
    """No campaign given and none configured, or the campaign is inactive."""


class ProviderError(VoiceOTPError):
    """The provider did not do what was asked.

    Carries the HTTP status, the code in the response body and the provider's message;
    never the OTP, the access token or the secret key.
    """

    def __init__(
        self,
        message: str,
        *,
        http_status: int | None = None,
        code: int | None = None,
        provider_message: str = "",
    ) -> None:
        super().__init__(message)
        self.message = message
        self.http_status = http_status
        self.code = code
        self.provider_message = provider_message

    def __str__(self) -> str:
        parts = [self.message]
        if self.http_status is not None:
            parts.append(f"HTTP {self.http_status}")
        if self.code is not None and self.code != self.http_status:
            parts.append(f"code {self.code}")
        if self.provider_message:
            parts.append(f"provider says: {self.provider_message}")
        return "; ".join(parts)


class ProviderUnavailable(ProviderError):
    """A fault that may pass: timeout, lost connection, 5xx, 429 or a body that is not JSON.

    ``placed_nothing`` is True only when the fault proves no call was placed (the connection
    was refused, the provider answered 5xx or 429): then the call may be placed at another
    provider. False (the default) when the provider may have placed it (a timeout after the
    request was sent, a connection lost while waiting for the answer).
    """

    def __init__(self, message: str, *, placed_nothing: bool = False, **context: Any) -> None:
        super().__init__(message, **context)
        self.placed_nothing = placed_nothing


class ProviderRejected(ProviderError):
    """A final refusal: a 4xx, or an error body under HTTP 200. Retrying will not help."""


class AuthenticationFailed(ProviderRejected):
    """The provider refused the secret key, or refused a freshly issued token."""


class CallAgainRefused(VoiceOTPError):
    """A call cannot be placed again: its passcode is gone or too old. The message says which."""


class PhoneNumberNotAllowed(InvalidPhoneNumber):
    """A valid number this site does not call: a country not allowed, or a denied prefix."""


class RateLimited(VoiceOTPError):
    """A code was refused by an abuse limit; no call was placed.

    ``retry_after`` is how many seconds to wait before asking again; ``limit`` names the limit:
    ``cooldown`` (``RESEND_COOLDOWN``), ``ip_hour`` (``SENDS_PER_IP_PER_HOUR``), ``number_hour``
    and ``number_day`` (``SENDS_PER_NUMBER_PER_HOUR``, ``SENDS_PER_NUMBER_PER_DAY``),
    ``site_hour`` and ``site_day`` (the site's budget, ``SENDS_PER_HOUR``, ``SENDS_PER_DAY``),
    ``fallback_hour`` (``FALLBACKS_PER_HOUR``), ``paused`` (``SENDING_PAUSED`` or the admin's
    switch) or ``pending_code`` (a code another client asked for is still valid).
    """

    def __init__(self, retry_after: int, *, limit: str = "") -> None:
        self.retry_after = retry_after
        self.limit = limit
        super().__init__(str(self))

    def __str__(self) -> str:
        return f"Too many codes requested ({self.limit}); retry in {self.retry_after} s."


class FallbackError(VoiceOTPError):
    """A fallback sender could not hand the passcode over.

    Carries the gateway's result code and message, never the passcode, the phone number in full
    or a key.
    """

    def __init__(self, message: str, *, code: str = "", provider_message: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.provider_message = provider_message

    def __str__(self) -> str:
        parts = [self.message]
        if self.code:
            parts.append(f"code {self.code}")
        if self.provider_message:
            parts.append(f"gateway says: {self.provider_message}")
        return "; ".join(parts)


class FallbackUnavailable(FallbackError):
    """A fault that may pass (timeout, lost connection, 5xx, 429, a body that is not JSON):
    the fallback is tried again, up to its bounded number of attempts."""


class FallbackRejected(FallbackError):
    """A final refusal (wrong key, unregistered brandname, invalid number): the fallback fails
    at once, without another attempt."""
