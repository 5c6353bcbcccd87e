"""Test numbers: a fixed code and no call, for QA and app-store reviews."""

from __future__ import annotations

from django.conf import settings
from django.core.checks import Error, Info, Tags, Warning, register

from ..conf import SETTINGS_NAME, voiceotp_settings
from ..exceptions import ImproperlyConfigured, InvalidOTP, InvalidPhoneNumber
from ..limits import allowed_number
from ..phone import validate_otp
from .limits import SAFE_CODE_LENGTH
from .settings import malformed_values, readable

#: Test numbers to suggest: outside the ranges assigned to Vietnam's operators, as phonenumbers'
#: metadata has them (no number under +84 71–75 is valid), so no one's line. Vietnam publishes no
#: range reserved for tests or fiction: a later plan may assign these, and phonenumbers with it.
SUGGESTED_TEST_NUMBERS = ("+84 71 000 0001", "+84 72 000 0002")


@register(Tags.compatibility)
def check_test_numbers(app_configs=None, **kwargs):
    """Test numbers get in without a call: list them, so none is left on by mistake, and warn
    of a code easy to guess."""
    if not readable():
        return []
    malformed = malformed_values("check_test_numbers")  # E011, the codes not shown
    numbers = voiceotp_settings.TEST_NUMBERS
    if malformed or not numbers:
        return malformed
    messages = []
    listed = []
    for spelling, code in numbers.items():
        try:
            validate_otp(code)
        except InvalidOTP as err:
            # The message says what is wrong with the code, never the code itself.
            messages.append(
                Error(
                    f"{SETTINGS_NAME}['TEST_NUMBERS'][{spelling!r}] is not a usable code: {err}",
                    id="django_voiceotp.E011",
                )
            )
        except TypeError:  # OTP_MIN_LENGTH or OTP_MAX_LENGTH malformed: check E006 says so
            pass
        else:
            if weakness := _weak_code(code.strip()):
                messages.append(
                    Warning(
                        f"{SETTINGS_NAME}['TEST_NUMBERS'][{spelling!r}] has a code {weakness}: "
                        "it is among the first anyone guesses.",
                        hint=f"Use {SAFE_CODE_LENGTH} or more random digits.",
                        id="django_voiceotp.W014",
                    )
                )
        try:
            listed.append(allowed_number(spelling))
        except InvalidPhoneNumber as err:
            messages.append(
                Warning(
                    f"{SETTINGS_NAME}['TEST_NUMBERS'] names {spelling!r}, which is not a number "
                    f"this site can call ({err}): asking for its code is refused.",
                    hint="Use a number of an allowed country, such as "
                    f"{SUGGESTED_TEST_NUMBERS[0]}.",
                    id="django_voiceotp.W012",
                )
            )
        except (ImproperlyConfigured, TypeError, ValueError, AttributeError):
            # A malformed phone or destination setting: its own check names it.
            continue
    if listed and settings.DEBUG:
        messages.append(
            Info(
                f"Test numbers (a fixed code, no call placed): {', '.join(listed)}.",
                hint="Anyone who knows one and its code can verify it; remove those not in use.",
                id="django_voiceotp.I003",
            )
        )
    elif listed:
        messages.append(
            Warning(
                f"Test numbers are set with DEBUG off: {', '.join(listed)} verify with a fixed "
                "code and no call, for anyone who knows the code.",
                hint="Keep them for an app-store review or QA and remove them after. Choose "
                "numbers outside the ranges assigned to operators, so none is anyone's line: "
                f"e.g. {' or '.join(SUGGESTED_TEST_NUMBERS)} (unassigned in phonenumbers' "
                "metadata, not reserved by the regulator: a later numbering plan may assign "
                "them). Wrong guesses lock a test number for the day after "
                "TEST_GUESSES_PER_DAY.",
                id="django_voiceotp.W013",
            )
        )
    return messages


def _weak_code(code: str) -> str | None:
    """What makes a test number's fixed code easy to guess, or None."""
    if len(set(code)) == 1:
        return "of one repeated digit"
    steps = {int(after) - int(before) for before, after in zip(code, code[1:], strict=False)}
    if steps in ({1}, {-1}):
        return "of consecutive digits"
    if len(code) < SAFE_CODE_LENGTH:
        return f"of fewer than {SAFE_CODE_LENGTH} digits"
    return None
