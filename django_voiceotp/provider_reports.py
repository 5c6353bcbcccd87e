"""The provider's call report: its statuses, its values, and the one parser that makes them safe.

A report comes by callback (``callbacks``) or from the report endpoint (``client``); both hand
the provider's call object to :func:`parse_report`, and both get a :class:`CallReport` whose
values fit the database, whatever the provider sent. Like ``payloads``, this module knows no
models and makes no request.
"""

from __future__ import annotations

import enum
import logging
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from .conf import voiceotp_settings

# The client's logger, as before the report format had a module of its own: a project's logging
# configuration that routes the client's records keeps this warning too.
logger = logging.getLogger("django_voiceotp.client")

SUCCESS_STATUSES = frozenset({"success", "succeeded", "answered", "completed", "ok"})
IN_PROGRESS_STATUSES = frozenset(
    {"", "pending", "queued", "calling", "ringing", "processing", "in-progress", "in_progress"}
)


class CallOutcome(enum.Enum):
    SUCCESS = "success"
    FAILED = "failed"
    IN_PROGRESS = "in_progress"


def outcome_for_status(raw_status: str | None) -> CallOutcome:
    """Map the many spellings of a result across API versions, case-insensitively."""
    status = (raw_status or "").strip().lower()
    if status in SUCCESS_STATUSES:
        return CallOutcome.SUCCESS
    if status in IN_PROGRESS_STATUSES:
        return CallOutcome.IN_PROGRESS
    return CallOutcome.FAILED


def parse_provider_time(value: Any, timezone_name: str | None = None) -> datetime | None:
    """Parse ``start_time``: naive means the provider's local time; ISO-8601 offsets are kept.

    A time that has no UTC equivalent (year 1 east of Greenwich, year 9999 west of it) is
    unknown, as is anything unparseable.
    """
    if not value or not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
        if parsed.tzinfo is None:
            parsed = parsed.replace(
                tzinfo=ZoneInfo(timezone_name or voiceotp_settings.PROVIDER_TIMEZONE)
            )
        parsed.astimezone(UTC)  # raises OverflowError where no database could store it
        return parsed
    except (ValueError, OverflowError):
        logger.warning("Unparseable start_time from the provider; stored as unknown.")
        return None


@dataclass(frozen=True)
class CallReport:
    """A call's state as the provider reports it, by callback or by the report endpoint."""

    call_id: str
    outcome: CallOutcome
    raw_status: str
    campaign_id: str = ""
    phone_number: str = ""
    duration: int | None = None
    started_at: datetime | None = None
    keypress: str = field(default="", repr=False)

    @property
    def is_final(self) -> bool:
        return self.outcome is not CallOutcome.IN_PROGRESS


#: Longest ``call_id`` kept (the column's size); the provider's are UUIDs.
MAX_CALL_ID_LENGTH = 255
#: Longest status kept (the column's size); the provider's are single words.
MAX_STATUS_LENGTH = 64
#: Largest duration kept, in seconds: what every supported database stores in an integer column.
MAX_DURATION = 2**31 - 1
# Characters no identifier or status has: C0 and C1 controls (NUL, newline, escape), DEL, and
# lone surrogates, which no database stores.
_NOT_IN_VALUES = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")


class InvalidReport(ValueError):
    """A report that cannot be used; ``reason`` says why, as a code: ``not_report`` when it is
    not an object with ``call_id`` and ``status``, ``bad_value`` when a value is unusable."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


def parse_report(data: Any) -> CallReport:
    """Build a CallReport from the provider's call object (the report's ``data`` or a callback).

    This is where a report's values are validated, for callbacks and polls alike: what is
    returned fits the database, whatever the provider sent.

    :raises InvalidReport: (a ValueError) when ``call_id``, ``status`` or ``duration`` is missing,
        of the wrong type, out of range or holds control characters.
    """
    if not isinstance(data, dict):
        raise InvalidReport("not_report", "The call report is not a JSON object.")
    call_id = data.get("call_id")
    if not isinstance(call_id, str) or not call_id:
        raise InvalidReport("not_report", "The call report has no call_id.")
    _check_text("call_id", call_id, MAX_CALL_ID_LENGTH)
    if "status" not in data:
        raise InvalidReport("not_report", "The call report has no status.")
    raw_status = data["status"]
    if raw_status is None:
        raw_status = ""
    if not isinstance(raw_status, str):
        raise InvalidReport("bad_value", "The call report's status is not a string.")
    _check_text("status", raw_status, MAX_STATUS_LENGTH)
    return CallReport(
        call_id=call_id,
        outcome=outcome_for_status(raw_status),
        raw_status=raw_status,
        campaign_id=str(data.get("campaign_id") or ""),
        phone_number=str(data.get("phone_number") or ""),
        duration=_parse_duration(data.get("duration")),
        started_at=parse_provider_time(data.get("start_time")),
        keypress=str(data.get("keypress") or ""),
    )


def _check_text(name: str, value: str, max_length: int) -> None:
    """A text value of a report must fit its column and hold no control characters."""
    if len(value) > max_length or _NOT_IN_VALUES.search(value):
        raise InvalidReport(
            "bad_value",
            f"The call report's {name} is longer than {max_length} characters "
            "or holds control characters.",
        )


def _parse_duration(value: Any) -> int | None:
    if value in (None, ""):
        return None
    try:
        if isinstance(value, bool):
            raise TypeError
        duration = int(value)
    except (TypeError, ValueError, OverflowError):
        raise InvalidReport("bad_value", "The call report's duration is not a number.") from None
    if not 0 <= duration <= MAX_DURATION:
        raise InvalidReport(
            "bad_value", f"The call report's duration is not within 0 to {MAX_DURATION}."
        )
    return duration
