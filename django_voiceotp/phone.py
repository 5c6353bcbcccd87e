"""Validation and normalisation of phone numbers and passcodes, as the provider wants them."""

from __future__ import annotations

import phonenumbers

from .conf import PHONE_FORMATS, voiceotp_settings
from .exceptions import ImproperlyConfigured, InvalidOTP, InvalidPhoneNumber


class ProviderNumber(str):
    """A number already in the form sent to the provider (``normalize_phone_number``'s), e.g. as
    stored in ``Call.phone_number``: its type tells the client not to parse it again."""

    __slots__ = ()


def parse_phone_number(value: str, *, region: str | None = None) -> phonenumbers.PhoneNumber:
    """Parse any common spelling of a number (``+84 77 112 2330``, ``84771122330``, ``0771122330``).

    :raises InvalidPhoneNumber: when the value is not a valid, callable number. A number with an
        extension (``ext 1``, ``;ext=9``) is not: the provider dials a line, not what comes after.
    """
    if not isinstance(value, str) or not value.strip():
        raise InvalidPhoneNumber("A phone number is required.")
    region = region or voiceotp_settings.PHONE_REGION
    try:
        number = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException as err:
        raise InvalidPhoneNumber(f"Not a phone number: {err}") from err
    if not phonenumbers.is_valid_number(number):
        raise InvalidPhoneNumber("Not a valid phone number.")
    if number.extension:
        # Its national form would carry the extension's digits into the number itself.
        raise InvalidPhoneNumber("A number with an extension cannot be called.")
    return number


def normalize_phone_number(
    value: str, *, region: str | None = None, phone_format: str | None = None
) -> str:
    """Return the number in the form sent to the provider.

    ``national`` (the default, what the provider documents) gives ``0771122330`` for numbers of
    ``PHONE_REGION``; a number of another country has no national form the provider could dial,
    so it is sent in E.164 whatever the setting. ``e164`` gives ``+84771122330``.
    """
    region = region or voiceotp_settings.PHONE_REGION
    return format_phone_number(
        parse_phone_number(value, region=region), region=region, phone_format=phone_format
    )


def format_phone_number(
    number: phonenumbers.PhoneNumber, *, region: str | None = None, phone_format: str | None = None
) -> str:
    """The form sent to the provider of a number already parsed (see ``normalize_phone_number``)."""
    region = region or voiceotp_settings.PHONE_REGION
    phone_format = phone_format or voiceotp_settings.PHONE_FORMAT
    if phone_format not in PHONE_FORMATS:
        raise ImproperlyConfigured(
            f"VOICEOTP['PHONE_FORMAT'] must be one of {PHONE_FORMATS}, not {phone_format!r}."
        )
    home_country = phonenumbers.country_code_for_region(region)
    if phone_format == "national" and number.country_code == home_country:
        national = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
        return "".join(ch for ch in national if ch.isdigit())
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def validate_otp(otp: str) -> str:
    """Return the passcode as a string of digits, or raise InvalidOTP.

    The message never repeats the value: it is a secret.
    """
    if isinstance(otp, int) and not isinstance(otp, bool):
        raise InvalidOTP("The OTP must be a string: an integer would lose its leading zeros.")
    if not isinstance(otp, str):
        raise InvalidOTP("The OTP must be a string of digits.")
    otp = otp.strip()
    if not otp.isascii() or not otp.isdigit():
        raise InvalidOTP("The OTP must contain digits only.")
    low, high = voiceotp_settings.OTP_MIN_LENGTH, voiceotp_settings.OTP_MAX_LENGTH
    if not low <= len(otp) <= high:
        raise InvalidOTP(f"The OTP must have {low} to {high} digits, not {len(otp)}.")
    return otp


def mask_phone_number(phone_number: str) -> str:
    """``0771122330`` → ``077****330``: enough to recognise a number, not to dial it."""
    if len(phone_number) <= 6:
        return "*" * len(phone_number)
    return phone_number[:3] + "*" * (len(phone_number) - 6) + phone_number[-3:]
