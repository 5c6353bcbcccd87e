"""Delivery metrics for Prometheus, with the ``metrics`` extra (``prometheus_client``).

Every metric lives in prometheus_client's default registry, so ``django-prometheus`` (or any
exporter of that registry) shows them beside its own; :func:`metrics_view` serves them alone.
Under gunicorn or Celery prefork, set ``PROMETHEUS_MULTIPROC_DIR`` before the processes start
(docs/integrations/metrics.rst): each process then writes its own file and the view adds them.

Labels carry only names from short, fixed sets (a status, a verdict, a limit, an endpoint): never a
phone number, a passcode, a token or a provider's free text. Without prometheus_client every
function here does nothing.
"""

from __future__ import annotations

import os
from typing import Any

from django.http import HttpRequest, HttpResponse

prometheus_client: Any
try:
    import prometheus_client
except ImportError:  # the extra is not installed: nothing is measured
    prometheus_client = None

#: Seconds: a provider request takes tens of milliseconds to a timeout; a call, seconds to minutes.
REQUEST_BUCKETS = (0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
RESULT_BUCKETS = (5, 10, 20, 30, 45, 60, 90, 120, 180, 300, 600)


class _Metrics:
    """The metrics themselves, created once per process (prometheus_client refuses a second)."""

    def __init__(self, client: Any) -> None:
        self.calls_finished = client.Counter(
            "voiceotp_calls_finished",
            "Calls that reached a final status, by status and failure class.",
            ["status", "failure_class"],
        )
        self.redials = client.Counter(
            "voiceotp_redials", "Calls placed again after a call that did not reach the person."
        )
        self.fallbacks = client.Counter(
            "voiceotp_fallbacks", "Deliveries handed to FALLBACK_SENDER, by outcome.", ["outcome"]
        )
        self.test_calls = client.Counter(
            "voiceotp_test_calls",
            "Codes for TEST_NUMBERS: a call recorded, none placed (counted apart from calls).",
        )
        self.callbacks = client.Counter(
            "voiceotp_callbacks", "Callback requests received, by verdict.", ["verdict"]
        )
        self.limit_refusals = client.Counter(
            "voiceotp_limit_refusals", "Codes refused by an abuse limit, by limit.", ["limit"]
        )
        self.site_budget_reached = client.Counter(
            "voiceotp_site_budget_reached",
            "Windows in which a site-wide budget was reached (counted once per window), by limit.",
            ["limit"],
        )
        self.provider_requests = client.Counter(
            "voiceotp_provider_requests",
            "Requests to the provider, by endpoint and outcome.",
            ["endpoint", "outcome"],
        )
        self.provider_latency = client.Histogram(
            "voiceotp_provider_request_seconds",
            "Time the provider took to answer a request (or to fail it), by endpoint.",
            ["endpoint"],
            buckets=REQUEST_BUCKETS,
        )
        self.time_to_result = client.Histogram(
            "voiceotp_call_result_seconds",
            "Time from send_otp to the call's final status, by status.",
            ["status"],
            buckets=RESULT_BUCKETS,
        )
        # The sweeper sets it; in multiprocess mode the value of the latest run counts.
        self.calls_waiting = client.Gauge(
            "voiceotp_calls_waiting",
            "Calls waiting, by status (pending: to be placed; sent: for a result).",
            ["status"],
            multiprocess_mode="mostrecent",
        )
        # The sweeper sets it from the breakers' shared state (breaker.py), as calls_waiting.
        self.provider_breaker_open = client.Gauge(
            "voiceotp_provider_breaker_open",
            "1 while a provider's circuit breaker is open or half-open (its calls skip it).",
            ["provider"],
            multiprocess_mode="mostrecent",
        )


_metrics = _Metrics(prometheus_client) if prometheus_client is not None else None


def enabled() -> bool:
    return _metrics is not None


def failure_class(failure_code: str) -> str:
    """The label a failed call counts under: its ``Call.FailureCode``, a short fixed name (never
    its failure reason, which holds the provider's text); "unknown" for a call without one."""
    return failure_code or "unknown"


def call_finished(call: Any) -> None:
    if _metrics is None:
        return
    is_failed = call.status == "failed"
    reason_class = failure_class(call.failure_code) if is_failed else ""
    _metrics.calls_finished.labels(call.status, reason_class).inc()
    if call.finished_at and call.created_at:
        seconds = (call.finished_at - call.created_at).total_seconds()
        _metrics.time_to_result.labels(call.status).observe(max(seconds, 0))


def redialled() -> None:
    if _metrics is not None:
        _metrics.redials.inc()


def fallback(outcome: str) -> None:
    if _metrics is not None:
        _metrics.fallbacks.labels(outcome).inc()


def test_call_recorded() -> None:
    if _metrics is not None:
        _metrics.test_calls.inc()


def callback_received(verdict: str) -> None:
    if _metrics is not None:
        _metrics.callbacks.labels(verdict).inc()


def limit_refused(limit: str) -> None:
    if _metrics is not None:
        _metrics.limit_refusals.labels(limit).inc()


def site_budget_reached(limit: str) -> None:
    if _metrics is not None:
        _metrics.site_budget_reached.labels(limit).inc()


def provider_request(endpoint: str, outcome: str, seconds: float) -> None:
    if _metrics is not None:
        _metrics.provider_requests.labels(endpoint, outcome).inc()
        _metrics.provider_latency.labels(endpoint).observe(seconds)


def calls_waiting(*, pending: int, sent: int) -> None:
    if _metrics is not None:
        _metrics.calls_waiting.labels("pending").set(pending)
        _metrics.calls_waiting.labels("sent").set(sent)


def provider_breakers(states: Any) -> None:
    """``states``: the ``breaker.BreakerState`` of each provider."""
    if _metrics is not None:
        for state in states:
            _metrics.provider_breaker_open.labels(state.provider).set(1 if state.is_open else 0)


def connect_receivers() -> None:
    """Count calls as the signals announce them (AppConfig.ready), once each, after commit."""
    from .signals import call_failed, call_status_changed

    call_status_changed.connect(_on_status_changed, dispatch_uid="voiceotp-metrics-status")
    call_failed.connect(_on_call_failed, dispatch_uid="voiceotp-metrics-failed")


def _on_status_changed(sender: Any, call: Any, new_status: str, **kwargs: Any) -> None:
    if new_status in ("success", "failed"):
        call_finished(call)


def _on_call_failed(sender: Any, call: Any, redial: Any = None, **kwargs: Any) -> None:
    if redial is not None:
        redialled()


def exposition() -> tuple[bytes, str]:
    """The metrics in Prometheus' text format, and its content type; every process's values when
    ``PROMETHEUS_MULTIPROC_DIR`` is set.

    :raises RuntimeError: when prometheus_client is not installed.
    """
    if prometheus_client is None:
        raise RuntimeError(
            "prometheus_client is not installed: pip install django-voiceotp[metrics]"
        )
    registry = prometheus_client.REGISTRY
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        registry = prometheus_client.CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    return prometheus_client.generate_latest(registry), prometheus_client.CONTENT_TYPE_LATEST


def metrics_view(request: HttpRequest) -> HttpResponse:
    """The app's metrics in Prometheus' text format, for a scraper (docs/integrations/metrics.rst).

    Not in ``django_voiceotp.urls``: a project mounts it where only its scraper can reach it.
    """
    try:
        body, content_type = exposition()
    except RuntimeError as err:  # the metrics extra is not installed
        return HttpResponse(str(err), status=501, content_type="text/plain")
    return HttpResponse(body, content_type=content_type)
