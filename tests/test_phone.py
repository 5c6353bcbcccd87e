"""Phone numbers and passcodes: every common spelling in, the provider's form out."""

import pytest

from django_voiceotp.exceptions import ImproperlyConfigured, InvalidOTP, InvalidPhoneNumber
from django_voiceotp.phone import mask_phone_number, normalize_phone_number, validate_otp


@pytest.mark.parametrize(
    "spelling", ["+84 77 112 2330", "84771122330", "0771122330", "077-112-2330", " (077) 112 2330 "]
)
def test_common_spellings_become_the_national_form(spelling):
    assert normalize_phone_number(spelling) == "0771122330"


def test_e164_format(voiceotp):
    voiceotp(PHONE_FORMAT="e164")
    assert normalize_phone_number("0771122330") == "+84771122330"


def test_foreign_number_has_no_national_form_so_goes_e164():
    assert normalize_phone_number("+1 650 253 0000") == "+16502530000"


def test_unknown_format_is_a_configuration_error(voiceotp):
    voiceotp(PHONE_FORMAT="local")
    with pytest.raises(ImproperlyConfigured, match="PHONE_FORMAT"):
        normalize_phone_number("0771122330")


@pytest.mark.parametrize("bad", ["", "   ", "12345", "abc", "0281234567", None, 771122330])
def test_invalid_numbers(bad):
    with pytest.raises(InvalidPhoneNumber):
        normalize_phone_number(bad)


def test_invalid_number_is_a_value_error():
    with pytest.raises(ValueError):
        normalize_phone_number("12")


@pytest.mark.parametrize("otp", ["0000", "012345", "12345678"])
def test_valid_otps_keep_leading_zeros(otp):
    assert validate_otp(otp) == otp


@pytest.mark.parametrize("bad", ["123", "123456789", "12a4", "١٢٣٤", "", None, 1234, "12 34"])
def test_invalid_otps(bad):
    with pytest.raises(InvalidOTP) as info:
        validate_otp(bad)
    assert isinstance(info.value, ValueError)
    if isinstance(bad, str) and len(bad) > 2:
        assert bad not in str(info.value)


def test_otp_length_bounds_are_settings(voiceotp):
    voiceotp(OTP_MIN_LENGTH=6, OTP_MAX_LENGTH=6)
    assert validate_otp("123456") == "123456"
    with pytest.raises(InvalidOTP, match="6 to 6"):
        validate_otp("1234")


@pytest.mark.parametrize(
    ("number", "masked"),
    [("0771122330", "077****330"), ("+84771122330", "+84******330"), ("12345", "*****")],
)
def test_mask(number, masked):
    assert mask_phone_number(number) == masked


@pytest.mark.parametrize(
    "with_extension", ["0771122330 ext 1", "0771122330;ext=9", "tel:+84771122330;ext=7"]
)
def test_a_number_with_an_extension_is_invalid(with_extension):
    """Its national form would carry the extension's digits into the number: not idempotent."""
    with pytest.raises(InvalidPhoneNumber, match="extension"):
        normalize_phone_number(with_extension)
