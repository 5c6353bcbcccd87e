"""The Pitel client's first home: its names stay importable from here, without a warning.

The client is now the Pitel backend, :class:`django_voiceotp.providers.pitel.PitelProvider`;
``ProviderClient`` is that class under its old name (``ProviderClient(api_url=...,
secret_key=...)`` works as before). The report format is ``provider_reports``'s.
"""

from __future__ import annotations

from .exceptions import ProviderError
from .provider_reports import (
    CallOutcome,
    CallReport,
    InvalidReport,
    outcome_for_status,
    parse_provider_time,
    parse_report,
)
from .providers.base import StartedCall
from .providers.http import POOL_CONNECTIONS, ProviderSession, get_session
from .providers.pitel import (
    EPOCH_THRESHOLD,
    REFUSED_KEY_BACKOFF,
    TOKEN_LOCK_WAIT,
    AccessToken,
    PitelProvider,
    provider_message,
)

#: The Pitel backend under the name the app gave its client before there were backends.
ProviderClient = PitelProvider

__all__ = [
    "EPOCH_THRESHOLD",
    "POOL_CONNECTIONS",
    "REFUSED_KEY_BACKOFF",
    "TOKEN_LOCK_WAIT",
    "AccessToken",
    "CallOutcome",
    "CallReport",
    "InvalidReport",
    "ProviderClient",
    "ProviderError",
    "ProviderSession",
    "StartedCall",
    "get_session",
    "outcome_for_status",
    "parse_provider_time",
    "parse_report",
    "provider_message",
]
