"""What a health probe asks: each provider accepts our token, the sweeper runs, no call is stuck,
the site's budget has room.

``voiceotp_check`` and the django-health-check plugin (``contrib.health``) report the same
findings. Each is cheap enough for a probe every few seconds: the provider is asked at most once
per ``PROVIDER_PROBE_TTL`` seconds, with the cached access token; the sweeper's last run is one
cache read; the backlog is one indexed count; the budget, a few reads of the limits cache.
"""

from __future__ import annotations

import dataclasses
import time
from datetime import timedelta

from django.core.cache import caches
from django.db import DatabaseError
from django.utils import timezone

from . import breaker, limits
from .conf import voiceotp_settings
from .exceptions import (
    AuthenticationFailed,
    ImproperlyConfigured,
    ProviderRejected,
    ProviderUnavailable,
)
from .models import Call
from .providers import DEFAULT_PROVIDER, default_provider_name, get_provider

OK, WARNING, FAILED = "ok", "warning", "failed"

SWEEPER_RUN_KEY = "django_voiceotp:health:sweeper_last_run"
PROVIDER_PROBE_KEY = "django_voiceotp:health:provider"
#: Seconds one answer of the provider stands for every probe, in every process.
PROVIDER_PROBE_TTL = 30
#: A call id no call has: the provider's answer for it shows it is up and accepts the token.
PROBE_CALL_ID = "voiceotp-health-probe"
#: How long the sweeper's last run is remembered; well past any SWEEPER_MAX_AGE.
SWEEPER_RUN_MEMORY = 7 * 24 * 3600


@dataclasses.dataclass(frozen=True)
class Finding:
    """One fact about the app's health: ``status`` is OK, WARNING or FAILED."""

    name: str
    status: str
    detail: str

    @property
    def failed(self) -> bool:
        return self.status == FAILED


def _cache():
    # The cache the access token is shared through: every process and worker reads the same.
    return caches[voiceotp_settings.TOKEN_CACHE_ALIAS]


# -- the provider --------------------------------------------------------------------------------


def check_provider() -> Finding:
    """Each provider in use answers a request made with its cached access token: the default
    provider, and each of ``FAILOVER``.

    A token is requested only when none is cached (once per token lifetime, as for calls), or
    once when the provider answers 401. The answer is remembered ``PROVIDER_PROBE_TTL`` seconds.
    With several providers, the finding is a warning while at least one of them answers (its
    calls go there), a failure when none does.
    """
    names = probed_providers()
    key = f"{PROVIDER_PROBE_KEY}:{','.join(names)}"
    remembered = _cache().get(key)
    if isinstance(remembered, dict):
        return Finding(**remembered)
    findings = [probe_provider(name) for name in names]
    if len(findings) == 1:
        finding = findings[0]
    else:
        failed = sum(finding.failed for finding in findings)
        status = OK if not failed else FAILED if failed == len(findings) else WARNING
        detail = "; ".join(f"{name}: {f.detail}" for name, f in zip(names, findings, strict=True))
        finding = Finding("provider", status, detail)
    _cache().set(key, dataclasses.asdict(finding), PROVIDER_PROBE_TTL)
    return finding


def probed_providers() -> list[str]:
    """The providers a call may be placed at: the default one, then those of ``FAILOVER``."""
    try:
        default = default_provider_name()
    except ImproperlyConfigured:
        default = DEFAULT_PROVIDER  # the probe reports the setting's error
    failover = voiceotp_settings.FAILOVER
    names = [default, *(failover if isinstance(failover, list | tuple) else ())]
    return [str(name) for name in dict.fromkeys(names)]


def probe_provider(name: str | None = None) -> Finding:
    """Ask the provider ``name`` (the default provider for None) for the report of a call that
    does not exist, now. A provider that answers no poll is not asked: its credentials are
    checked as far as they can be without placing a call (its circuit breaker tells whether its
    calls are placed)."""
    try:
        provider = get_provider(name)
        if not provider.supports_polling:
            provider.authenticate()
            return Finding(
                "provider", OK, "credentials set; not asked (it reports by callback only)"
            )
        provider.get_report(PROBE_CALL_ID)
    except AuthenticationFailed as err:
        return Finding("provider", FAILED, f"the provider refused the credentials: {err}")
    except ProviderRejected:
        # "No such call" (a 404): the provider is up and took the token.
        return Finding("provider", OK, "reachable; the access token is accepted")
    except ProviderUnavailable as err:
        return Finding("provider", FAILED, str(err))
    except ImproperlyConfigured as err:
        return Finding("provider", FAILED, str(err))
    return Finding("provider", OK, "reachable; the access token is accepted")


# -- the sweeper ---------------------------------------------------------------------------------


def record_sweeper_run() -> None:
    """Note that the sweeper (``jobs.poll_pending_calls``, whichever queue runs it) ran now."""
    _cache().set(SWEEPER_RUN_KEY, time.time(), SWEEPER_RUN_MEMORY)


def sweeper_last_run() -> float | None:
    """When the sweeper last ran (a Unix time), or None if no run is on record."""
    value = _cache().get(SWEEPER_RUN_KEY)
    return float(value) if isinstance(value, (int, float)) else None


def check_sweeper() -> Finding:
    """The sweeper ran within ``SWEEPER_MAX_AGE`` seconds."""
    last_run = sweeper_last_run()
    max_age = voiceotp_settings.SWEEPER_MAX_AGE
    if last_run is None:
        # A fresh or cleared cache, or a sweeper never scheduled: not known to be late yet.
        return Finding("sweeper", WARNING, "no run on record (none since the cache was cleared)")
    age = max(0.0, time.time() - last_run)
    if age > max_age:
        return Finding(
            "sweeper", FAILED, f"last run {age:.0f} s ago, more than SWEEPER_MAX_AGE ({max_age} s)"
        )
    return Finding("sweeper", OK, f"last run {age:.0f} s ago")


# -- the backlog ---------------------------------------------------------------------------------


def overdue_calls():
    """Calls still pending ``PENDING_GRACE`` seconds after the sweeper should have sent them.

    A call waiting for a send retry, or held by a send attempt, is due later: not overdue.
    """
    grace = timedelta(seconds=voiceotp_settings.PENDING_GRACE)
    return Call.objects.filter(
        status=Call.Status.PENDING, next_attempt_at__lt=timezone.now() - grace
    )


def check_backlog() -> Finding:
    """No call is pending past ``PENDING_GRACE``."""
    grace = voiceotp_settings.PENDING_GRACE
    try:
        count = overdue_calls().count()
    except DatabaseError as err:
        # Not migrated yet, or unreachable: the database's own check says which.
        return Finding("backlog", WARNING, f"pending calls cannot be counted: {err}")
    if count:
        return Finding(
            "backlog", FAILED, f"{count} call(s) pending more than PENDING_GRACE ({grace} s) late"
        )
    return Finding("backlog", OK, f"no call pending past PENDING_GRACE ({grace} s)")


# -- spending ------------------------------------------------------------------------------------


def check_spending() -> Finding:
    """The site's budget (``SENDS_PER_HOUR``, ``SENDS_PER_DAY``, ``FALLBACKS_PER_HOUR``) is not
    used up, and sending is not paused (a warning: a pause is an operator's decision)."""
    try:
        if limits.sending_paused():
            return Finding(
                "spending",
                WARNING,
                "sending is paused (SENDING_PAUSED or the admin's switch): no call or fallback "
                "message is placed",
            )
        uses = limits.site_budget()
    except ImproperlyConfigured as err:
        return Finding("spending", FAILED, str(err))
    reached = [use for use in uses if use.reached]
    if reached:
        detail = "; ".join(
            f"{use.name} {use.used}/{use.count}, resets in {use.resets_in} s" for use in reached
        )
        return Finding("spending", FAILED, f"site budget reached: {detail}")
    if not any(use.name in ("site_hour", "site_day") for use in uses):
        return Finding("spending", WARNING, "no site budget for calls (SENDS_PER_HOUR/PER_DAY)")
    detail = ", ".join(f"{use.name} {use.used}/{use.count}" for use in uses)
    return Finding("spending", OK, f"site budget used: {detail}")


# -- providers' circuit breakers -----------------------------------------------------------------


def check_breakers() -> Finding:
    """No provider's circuit breaker is open (a warning while one is: its calls go to the next
    provider of ``FAILOVER``, or wait for its cool-down). A few reads of the limits cache."""
    try:
        states = breaker.states()
    except ImproperlyConfigured as err:
        return Finding("providers", FAILED, str(err))
    detail = "; ".join(describe_breaker(state) for state in states)
    if any(state.is_open for state in states):
        return Finding("providers", WARNING, detail)
    return Finding("providers", OK, detail)


def describe_breaker(state: breaker.BreakerState) -> str:
    if state.state == breaker.OPEN:
        return f"circuit breaker of {state.provider}: open (a probe in {state.retry_in:.0f} s)"
    if state.state == breaker.HALF_OPEN:
        return f"circuit breaker of {state.provider}: half-open (one probe call tests it)"
    return f"circuit breaker of {state.provider}: closed"
