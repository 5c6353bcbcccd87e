"""The bounded storage of callbacks that are not applied: counted on one event per run.

A request with a valid token for a call still waiting for its result gets a CallbackEvent of its
own (``door``). Any other costs bounded storage: its facts, counted on one event per run
(``REJECTION_WINDOW``), so neither a forged flood nor a token read from an access log can fill
the disk; a run's first event keeps the start of a rejected request's body. The runs:

- without a valid token: a run per network (an IPv6 address's /64, as the abuse limits count
  it) and verdict; past ``REJECTED_ROWS_PER_HOUR`` new runs in an hour, one run per verdict for
  every network, without a body;
- with the token of a call that already has its result: a run per call and verdict. The token is
  refused ``CALLBACK_FINAL_GRACE`` seconds after that result.
"""

from __future__ import annotations

from datetime import timedelta

from django.db.models import F, QuerySet
from django.utils import timezone

from ..limits import ip_subject
from ..models import Call, CallbackEvent
from ..payloads import storable_text

#: Requests of one run (see the module's docstring) within this time after the first are counted
#: on the first one's event.
REJECTION_WINDOW = timedelta(hours=1)
#: Runs without a valid token started within REJECTION_WINDOW, site-wide: past it, a request
#: from a network without a run is counted on its verdict's run of ``ANY_NETWORK``, so rotating
#: addresses cost no more rows (the metric of verdicts still counts every request).
REJECTED_ROWS_PER_HOUR = 1000
ANY_NETWORK = "*"
#: Characters kept of the body of a request without a valid token: enough to tell what it was.
REJECTED_BODY_PREFIX = 256


def record_counted(
    verdict: str,
    reason: str,
    call: Call | None,
    remote_addr: str | None,
    *,
    size: int | None,
    body: bytes,
) -> None:
    """Record a request of ``verdict`` and ``reason`` at bounded cost: counted on its run's event
    within ``REJECTION_WINDOW``, or a new event, with the start of the body of a rejected request.
    A run is the call's and verdict's for a call with a valid token, else its network's and
    verdict's (see the module's docstring)."""
    now = timezone.now()
    network = network_of(remote_addr)
    since = now - REJECTION_WINDOW
    if _count_on_run(run_of(verdict, call, network, since), now):
        return
    if call is not None and verdict not in CallbackEvent.REJECTED:
        body = b""  # a report like those the call's own events show: its facts are enough
    elif call is None and rejected_runs_started(since).exists():
        if _count_on_run(run_of(verdict, None, ANY_NETWORK, since), now):
            return
        remote_addr, network, body = None, ANY_NETWORK, b""
    # Redacted before it is cut, so a cut cannot hide a passcode from the redaction.
    prefix = body[: REJECTED_BODY_PREFIX * 4].decode("utf-8", errors="replace")
    CallbackEvent.objects.create(
        call=call,
        verdict=verdict,
        reason=reason,
        remote_addr=remote_addr,
        remote_network=network,
        body_size=size,
        raw_body=storable_text(prefix)[:REJECTED_BODY_PREFIX],
        received_at=now,
    )


def run_of(verdict: str, call: Call | None, network: str, since) -> QuerySet[CallbackEvent]:
    """The events a request of ``verdict`` may be counted on, latest first: of ``call``, or
    without a call (read on its partial index) of ``network``, begun since ``since``."""
    if call is not None:
        runs = CallbackEvent.objects.filter(call=call, verdict=verdict)
    else:
        runs = CallbackEvent.objects.filter(call=None, verdict=verdict, remote_network=network)
    return runs.filter(received_at__gte=since).order_by("-received_at")


def _count_on_run(run: QuerySet[CallbackEvent], now) -> bool:
    """Count the request on the latest event of ``run``; False if there is none."""
    latest = run.values_list("pk", flat=True).first()
    if latest is None:
        return False
    return bool(
        CallbackEvent.objects.filter(pk=latest).update(count=F("count") + 1, last_received_at=now)
    )


def rejected_runs_started(since) -> QuerySet[CallbackEvent]:
    """The ``REJECTED_ROWS_PER_HOUR``-th run without a call begun since ``since``, if there is one
    (on the partial index, reading at most that many entries): whether the cap is reached."""
    started = CallbackEvent.objects.filter(call=None, received_at__gte=since).order_by()
    return started[REJECTED_ROWS_PER_HOUR - 1 : REJECTED_ROWS_PER_HOUR]


def network_of(remote_addr: str | None) -> str:
    """What runs without a valid token are counted by: the network the abuse limits count."""
    return ip_subject(remote_addr) if remote_addr else ""
