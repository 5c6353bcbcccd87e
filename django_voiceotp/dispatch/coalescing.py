"""One send job waiting or running per queue, so a burst of calls publishes a job per batch,
not a job per call.

A new call publishes a send job only when it can ``take`` the queue's mark (a cache ``add``);
while the mark is held, the job waiting or running will claim the call with its batch. A job
``release``-s the mark as soon as it has claimed less than a full batch (nothing more was
waiting), before it places that batch, and claims once more after: a call stored before the
release is found by that claim, and one stored after it takes the mark and publishes a job of
its own, so it waits for no provider's answer to the batch before it. No call is left waiting
for the sweeper, unless its job is lost on the way; the mark then expires after
``PENDING_GRACE``, when the sweeper sends the calls left behind anyway.
"""

from __future__ import annotations

import logging

from django.db import connections, router

from ..conf import voiceotp_settings
from ..db import updates_returning
from ..limits.counters import limits_cache, non_atomic_cache_backend
from ..models import Call

logger = logging.getLogger("django_voiceotp")


def batches(dispatcher) -> bool:
    """Whether a send job places a batch: a queue that runs work apart from the caller,
    ``SEND_BATCH_SIZE`` above 1, and a database that claims a batch in one statement."""
    if dispatcher.runs_inline or voiceotp_settings.SEND_BATCH_SIZE < 2:
        return False
    return updates_returning(connections[router.db_for_write(Call)])


def coalesces(dispatcher) -> bool:
    """Whether new calls share one send job: batches, a dispatcher that allows it, and a cache
    whose ``add`` is atomic (the limits cache)."""
    return (
        dispatcher.coalesces_sends
        and batches(dispatcher)
        and not non_atomic_cache_backend(voiceotp_settings.LIMITS_CACHE_ALIAS)
    )


def take(dispatcher) -> bool:
    """True when the caller is to publish a send job: no job holds the mark, or sends are not
    coalesced here. A cache that fails publishes the job (one per call, as without batches)."""
    if not coalesces(dispatcher):
        return True
    try:
        return bool(limits_cache().add(_key(), 1, timeout=voiceotp_settings.PENDING_GRACE))
    except Exception as err:  # noqa: BLE001 -- whatever the cache raises
        logger.warning("Send jobs not coalesced: the cache failed (%s).", type(err).__name__)
        return True


def release(dispatcher) -> None:
    """Let the next new call publish a send job."""
    if not coalesces(dispatcher):
        return
    try:
        limits_cache().delete(_key())
    except Exception as err:  # noqa: BLE001 -- the mark expires on its own
        logger.warning("Send job mark not released: the cache failed (%s).", type(err).__name__)


def _key() -> str:
    return f"django_voiceotp:send-job:{voiceotp_settings.DISPATCHER}"
