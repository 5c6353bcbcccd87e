"""What a provider sends, made safe: parsed with limits, made storable, redacted, escaped for logs.

Every provider body (a callback, a report) goes through ``parse_json``; everything kept of one goes
through ``storable``; every piece of provider text in a log line goes through ``loggable``. This
module knows no models, so the client uses it too.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

#: Deepest nesting of arrays and objects accepted; the provider's bodies are two levels deep.
MAX_DEPTH = 32
REDACTED = "[redacted]"
#: Names under which a passcode travels: the keypress the person typed, and ``code_otp`` that
#: later API versions echo. Compared without case and punctuation (``Keypress``, ``code-otp``).
SECRET_NAMES = frozenset({"keypress", "codeotp", "otp"})

# Not storable: PostgreSQL refuses NUL in text and jsonb, and no database takes a lone surrogate
# (a valid pair is one character once decoded, so any surrogate left in a str is lone).
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
# A passcode in a body that is not JSON: form fields, broken JSON, XML, "keypress: 123".
_SECRET_IN_TEXT = re.compile(
    r"""((?<![a-z0-9])(?:key[\W_]?press|code[\W_]?otp|otp)["']?(?:\s*[:=]\s*|>))"""
    # A quoted value may be cut short (a body's prefix): then it runs to the end.
    r"""(?:"[^"]*"?|'[^']*'?|[^"'&,;:=<>}\s]+)""",
    re.IGNORECASE,
)
# What shapes JSON: an escape pair (skipped), a quote, a bracket.
_STRUCTURE = re.compile(r'\\.|"|[\[\]{}]', re.DOTALL)
# What could forge or garble a log line: control characters (newline, escape sequences), the
# Unicode line separators, lone surrogates, and the backslash that introduces our escapes.
_UNLOGGABLE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff\\\\]")


class PayloadError(ValueError):
    """A body that is not JSON we accept: not UTF-8, not JSON, too deep, or with NaN/Infinity."""


def parse_json(body: bytes | str, *, max_depth: int = MAX_DEPTH) -> Any:
    """Parse a JSON body that a provider or a client sent, refusing what no database stores and
    what could exhaust us.

    :raises PayloadError: for anything but standard JSON nested at most ``max_depth`` deep.
    """
    if isinstance(body, bytes):
        try:
            body = body.decode("utf-8")
        except UnicodeDecodeError:
            raise PayloadError("The body is not UTF-8.") from None
    if nesting_depth(body) > max_depth:
        raise PayloadError(f"The body is nested deeper than {max_depth} levels.")
    try:
        return json.loads(body, parse_constant=_refuse_constant, parse_float=_finite_float)
    except PayloadError:
        raise
    except ValueError as err:  # JSONDecodeError, and an integer with too many digits
        raise PayloadError("The body is not valid JSON.") from err


def nesting_depth(text: str) -> int:
    """How deep arrays and objects nest in ``text``, read without recursion (strings skipped)."""
    depth = deepest = 0
    in_string = False
    # An escape pair is matched first, so a quote found alone opens or closes a string.
    for match in _STRUCTURE.finditer(text):
        token = match.group()
        if token == '"':
            in_string = not in_string
        elif in_string or token[0] == "\\":
            continue
        elif token in "[{":
            depth += 1
            deepest = max(deepest, depth)
        else:
            depth -= 1
    return deepest


def _refuse_constant(name: str) -> Any:
    raise PayloadError(f"{name} is not JSON.")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):  # 1e999 would be stored as Infinity, which JSON cannot hold
        raise PayloadError("A number is out of range.")
    return value


def storable(value: Any, *, depth: int = 0) -> Any:
    """A copy of parsed JSON that every database stores and that holds no passcode.

    Strings (keys too) lose NUL and lone surrogates (each becomes U+FFFD); a value under a secret
    name, at any depth, becomes ``[redacted]``; so does a passcode written inside a string.
    """
    if depth > MAX_DEPTH:
        return "[…]"
    if isinstance(value, dict):
        return {
            storable_text(key): REDACTED
            if is_secret_name(key) and value[key] not in (None, "")
            else storable(value[key], depth=depth + 1)
            for key in value
        }
    if isinstance(value, list):
        return [storable(item, depth=depth + 1) for item in value]
    if isinstance(value, str):
        return storable_text(value)
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def storable_text(text: str) -> str:
    """``text`` with every passcode redacted and without what a database refuses."""
    return redact_text(_UNSTORABLE.sub("\ufffd", text))


def redact_text(text: str) -> str:
    """Hide a passcode written in text (``keypress=654321``, ``"Keypress": "6"``, XML)."""
    return _SECRET_IN_TEXT.sub(_redact_match, text)


def _redact_match(match: re.Match) -> str:
    quote = match.group()[len(match.group(1))]
    quote = quote if quote in "\"'" else ""
    return f"{match.group(1)}{quote}{REDACTED}{quote}"


def is_secret_name(name: Any) -> bool:
    return isinstance(name, str) and re.sub(r"[\W_]", "", name).casefold() in SECRET_NAMES


def capped(value: Any, *, depth: int = 0) -> Any:
    """``value`` with what is nested deeper than ``MAX_DEPTH`` replaced, so it can be rendered."""
    if depth >= MAX_DEPTH and isinstance(value, (dict, list)):
        return "[…]"
    if isinstance(value, dict):
        return {key: capped(item, depth=depth + 1) for key, item in value.items()}
    if isinstance(value, list):
        return [capped(item, depth=depth + 1) for item in value]
    return value


class StoredPayloadDecoder(json.JSONDecoder):
    """Reads a stored payload back; one too deep to parse (stored by an older version) shows as a
    note instead of raising RecursionError wherever the row is loaded."""

    def decode(self, s: str, *args: Any, **kwargs: Any) -> Any:
        if nesting_depth(s) > MAX_DEPTH:
            return {"unreadable": f"nested deeper than {MAX_DEPTH} levels", "size": len(s)}
        return super().decode(s, *args, **kwargs)


def loggable(value: Any) -> str:
    """Provider-controlled text fit for one log line: control characters, line separators and
    backslashes escaped (``\\n``, ``\\x1b``), so it can neither forge a line nor colour a terminal.
    """
    return _UNLOGGABLE.sub(_escape, str(value))


def _escape(match: re.Match) -> str:
    char = match.group()
    if char == "\\":
        return "\\\\"
    if char == "\n":
        return "\\n"
    if char == "\r":
        return "\\r"
    if char == "\t":
        return "\\t"
    code = ord(char)
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"
