"""What a declared setting is, and the kinds of value settings take (the checks' predicates)."""

from __future__ import annotations

import re
from collections.abc import Callable, Collection
from dataclasses import dataclass
from numbers import Real
from typing import Any, TypeGuard
from urllib.parse import urlparse
from zoneinfo import ZoneInfo

import phonenumbers
from django.conf import settings

#: Whether a value is well formed. A predicate may raise on a value it was not written for (a
#: dict where a number belongs): the check reads that as a no.
Predicate = Callable[[Any], bool]


@dataclass(frozen=True)
class Setting:
    """One key of ``VOICEOTP``: its default, what a value must be, and its entry on the
    settings page."""

    name: str
    #: The value a project that does not set the key gets.
    default: Any
    #: What a value must be, as the check's error says it: "a whole number of at least 1".
    expected: str
    #: The predicate, or the dotted path of one that lives beside the code reading the setting
    #: (a module that itself reads ``conf``, so only the check imports it).
    valid: Predicate | str
    #: Where the settings page lists it (a ``.. voiceotp-settings::`` section of docs/settings.rst).
    section: str
    #: The type as the page states it.
    kind: str
    #: What the setting does, and the checks that answer a wrong value (reStructuredText).
    doc: str
    #: The system check that answers a malformed value, and the check function reporting it.
    check_id: str = "E006"
    checked_by: str = "check_setting_values"
    #: ``E002`` when it is not set (or empty).
    required: bool = False
    #: A list, as settings read from JSON give, is read as a tuple.
    list_as_tuple: bool = False
    #: The value is never shown in a message: only its type is.
    secret: bool = False


# -- kinds of value ------------------------------------------------------------------------------


def is_whole(value: object, least: int = 0) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= least


def is_number(value: object, *, above: float) -> bool:
    """A number (not a bool) above ``above``: NaN is not."""
    return isinstance(value, Real) and not isinstance(value, bool) and float(value) > above


def is_http_url(value: object) -> bool:
    if not isinstance(value, str):
        return False
    parsed = urlparse(value)
    return parsed.scheme in ("http", "https") and bool(parsed.netloc)


def whole(least: int = 0) -> Predicate:
    return lambda value: is_whole(value, least)


def seconds_above_zero(value: object) -> bool:
    return is_number(value, above=0)


def seconds_or_zero(value: object) -> bool:
    """0 or more seconds; NaN is not a number of seconds."""
    return isinstance(value, Real) and not isinstance(value, bool) and float(value) >= 0


def optional(predicate: Predicate) -> Predicate:
    """None, or a value the predicate takes."""
    return lambda value: value is None or predicate(value)


def one_of(choices: Collection[object]) -> Predicate:
    return lambda value: isinstance(value, str) and value in choices


def timeout(value: object) -> bool:
    """Seconds above 0, or a (connect, read) pair of them."""
    parts = value if isinstance(value, (tuple, list)) else (value,)
    return len(parts) in (1, 2) and all(is_number(part, above=0) for part in parts)


def increasing_seconds(value: object) -> bool:
    return (
        isinstance(value, (tuple, list))
        and bool(value)
        and all(is_number(point, above=0) for point in value)
        and list(value) == sorted(set(value))
    )


def time_zone(value: Any) -> bool:
    ZoneInfo(value)  # raises on anything but a zone's name
    return True


def cache_alias(value: object) -> bool:
    return isinstance(value, str) and value in settings.CACHES


def phone_region(value: object) -> bool:
    return isinstance(value, str) and value in phonenumbers.SUPPORTED_REGIONS


def non_empty_string(value: object) -> bool:
    return isinstance(value, str) and bool(value)


def is_collection(value: object) -> TypeGuard[tuple | list | set | frozenset]:
    return isinstance(value, (tuple, list, set, frozenset))


def country_codes(value: object) -> bool:
    return is_collection(value) and all(is_whole(code, 1) for code in value)


def e164_prefixes(value: object) -> bool:
    return is_collection(value) and all(
        isinstance(prefix, str) and prefix.startswith("+") for prefix in value
    )


def number_types(value: Any) -> bool:
    """Names of ``phonenumbers.PhoneNumberType``, as ``limits.allowed_number_types`` reads them."""
    return all(hasattr(phonenumbers.PhoneNumberType, name) for name in value)


def provider_statuses(value: object) -> bool:
    return is_collection(value) and all(isinstance(status, str) and status for status in value)


def boolean(value: object) -> bool:
    return isinstance(value, bool)


def dict_or_empty(value: object) -> bool:
    return not value or isinstance(value, dict)


def empty_or(predicate: Predicate) -> Predicate:
    """Not set (None or empty, which another check reports when it matters), or a value the
    predicate takes."""
    return lambda value: not value or predicate(value)


#: A dotted path to a Python object: "package.module.Name".
DOTTED_PATH = re.compile(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)+")


def dotted_path_or(names: Collection[str]) -> Predicate:
    """One of ``names``, or what looks like the dotted path of an object (its import is the
    check's to try)."""
    return lambda value: (
        isinstance(value, str) and (value in names or DOTTED_PATH.fullmatch(value) is not None)
    )


#: Longest provider name: what ``Call.provider`` and ``Campaign.provider`` hold.
MAX_PROVIDER_NAME = 32


def provider_names(value: object) -> bool:
    """None, or a non-empty list or tuple of distinct provider names (FAILOVER); whether each
    names a provider is the check's to say."""
    if value is None:
        return True
    return (
        isinstance(value, (list, tuple))
        and bool(value)
        and all(isinstance(name, str) and 0 < len(name) <= MAX_PROVIDER_NAME for name in value)
        and len(set(value)) == len(value)
    )


def providers_setting(value: object) -> bool:
    """None, or a non-empty dict of provider names (at most ``MAX_PROVIDER_NAME`` characters) to
    dicts, each with a ``BACKEND`` that looks like a dotted path (its import is the check's to
    try)."""
    if value is None:
        return True
    return (
        isinstance(value, dict)
        and bool(value)
        and all(
            isinstance(name, str)
            and 0 < len(name) <= MAX_PROVIDER_NAME
            and isinstance(entry, dict)
            and isinstance(entry.get("BACKEND"), str)
            and DOTTED_PATH.fullmatch(entry["BACKEND"]) is not None
            for name, entry in value.items()
        )
    )
