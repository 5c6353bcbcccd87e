"""A provider for tests that places nothing and records what the app asks, as django.core.mail's
locmem backend keeps an outbox: ``VOICEOTP["PROVIDERS"] = {"pitel": {"BACKEND":
"django_voiceotp.providers.recording.RecordingProvider"}}``. ``get_provider("pitel")`` is then
the instance, with its ``placed`` calls; a test sets the ``failures`` to raise and the
``reports`` to answer polls with.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..provider_reports import CallOutcome, CallReport, parse_report
from .base import BaseProvider, StartedCall
from .pitel import NOT_REACHED_STATUSES


@dataclass(frozen=True)
class PlacedCall:
    call_id: str
    campaign_id: str
    phone_number: str
    otp: str = field(repr=False)  # what the person would hear: kept out of any test output
    callback_url: str | None = field(default=None, repr=False)  # holds the call's token


class RecordingProvider(BaseProvider):
    """Accepts every call (``recorded-1``, ``recorded-2``, ...), unless a failure is queued.

    Its results and webhooks speak the Pitel report format, statuses included, so tests can post
    the callbacks the sandbox would.
    """

    not_reached_statuses = NOT_REACHED_STATUSES
    # One count for every instance in the process: a provider's call ids are unique (a
    # constraint, per provider), also across the instances made as settings change.
    _call_ids = itertools.count(1)

    def __init__(self, name: str = "", options: Mapping[str, Any] | None = None) -> None:
        super().__init__(name, options)
        self.placed: list[PlacedCall] = []
        #: Raised by the next calls placed, first one first (then the calls are accepted).
        self.failures: list[Exception] = []
        #: A poll's answer by the provider's call id; a call not listed is still in progress.
        self.reports: dict[str, CallReport] = {}
        self.authentications = 0

    def authenticate(self) -> str:
        self.authentications += 1
        return "the recording provider"

    def start_call(
        self, campaign_id: str, phone_number: str, otp: str, callback_url: str | None = None
    ) -> StartedCall:
        if self.failures:
            raise self.failures.pop(0)
        call_id = f"recorded-{next(self._call_ids)}"
        self.placed.append(
            PlacedCall(call_id, str(campaign_id), str(phone_number), otp, callback_url)
        )
        return StartedCall(call_id=call_id, campaign_id=str(campaign_id))

    def get_report(self, call_id: str) -> CallReport:
        in_progress = CallReport(call_id=call_id, outcome=CallOutcome.IN_PROGRESS, raw_status="")
        return self.reports.get(call_id, in_progress)

    def parse_webhook(self, payload: Any) -> CallReport:
        return parse_report(payload)

    def clear(self) -> None:
        self.placed.clear()
        self.failures.clear()
        self.reports.clear()
