"""The one way a call changes status: a guarded move forward, announced by signals once.

``transition`` is a compare-and-set on the call's status, so of two processes reporting the same
result only one moves the call, and only that one sends the signals (after its transaction
commits) and carries out what the delivery policy says follows a failure.
"""

from __future__ import annotations

import logging
from contextlib import nullcontext
from functools import partial
from typing import Any

from django.db import connections, router, transaction
from django.db.models import Field
from django.utils import timezone

from . import delivery
from .db import write_transaction
from .models import Call, failure_reason
from .payloads import loggable
from .signals import call_failed, call_status_changed, call_succeeded, send_robust

logger = logging.getLogger("django_voiceotp")


def fail(call: Call, code: str, detail: str = "") -> bool:
    """Fail ``call`` with failure ``code`` (a ``Call.FailureCode``) and its English reason."""
    return finish(
        call, Call.Status.FAILED, failure_code=code, failure_reason=failure_reason(code, detail)
    )


def finish(call: Call, status: str, **fields) -> bool:
    final: dict[str, Any] = {
        "finished_at": timezone.now(),
        "next_poll_at": None,
        "next_attempt_at": None,
    }
    if status == Call.Status.SUCCESS:
        return transition(call, status, otp="", **final, **fields)  # the delivery ends here
    # The delivery policy decides what follows; only the process that fails the call does it.
    sealed_otp = call.otp
    plan = delivery.after_failure(call, fields.get("raw_status") or call.raw_status)
    # A failure and its redial are written together or not at all, and so is the end of the
    # delivery when a limit refuses the redial or the fallback: the signals, sent on commit,
    # then carry the reason. A failure that nothing follows is a lone update.
    followed = plan.redial_in is not None or plan.fallback
    with write_transaction() if followed else nullcontext():
        moved = transition(call, status, **final, **plan.fields, **fields)
        if moved:
            delivery.carry_out(call, plan, sealed_otp)
    return moved


#: The statuses a call may move to each status from: only forward.
_MOVES_TO: dict[str, set[str]] = {
    Call.Status.SENT: {Call.Status.PENDING},
    Call.Status.SUCCESS: {Call.Status.PENDING, Call.Status.SENT},
    Call.Status.FAILED: {Call.Status.PENDING, Call.Status.SENT},
}


def transition(call: Call, new_status: str, *, guard: dict | None = None, **fields) -> bool:
    """Move ``call`` to ``new_status`` with a compare-and-set on its current status.

    Statuses only move forward (pending → sent → success | failed), so this ends after a few
    rounds; only the process whose update matched announces the transition. ``guard``: more
    field values the row must still have; when they do not, the transition is not made.
    """
    while call.status in _MOVES_TO[new_status]:
        old_status = call.status
        values = {**fields, "status": new_status, "updated_at": timezone.now()}
        if _compare_and_set(call.pk, old_status, guard, values):
            for name, value in values.items():
                if not hasattr(value, "resolve_expression"):  # an expression: the caller sets it
                    setattr(call, name, value)
            announce(call, old_status, new_status)
            return True
        if guard:
            return False  # the row changed under us: whoever changed it decides
        call.refresh_from_db(fields=["status"])
    return False


def _compare_and_set(pk: int, old_status: str, guard: dict | None, values: dict) -> int:
    """Set ``values`` on the call if it still has ``old_status`` (and ``guard``); rows changed.

    Every move of every call runs this ``UPDATE``, and the ORM's building of it cost more than
    its running (benchmarks/RESULTS.md, the callback profile): plain values are written here,
    each prepared by its field as the ORM prepares it. A guard or an expression: the ORM's.
    """
    if guard or any(_orm_only(value) for value in values.values()):
        return Call.objects.filter(pk=pk, status=old_status, **(guard or {})).update(**values)
    connection = connections[router.db_for_write(Call)]
    quote = connection.ops.quote_name
    fields = [(_column(name), value) for name, value in values.items()]
    assignments = ", ".join(f"{quote(column)} = %s" for (_, column), _ in fields)
    sql = (
        f"UPDATE {quote(Call._meta.db_table)} SET {assignments} "
        f"WHERE {quote(_column('id')[1])} = %s AND {quote(_column('status')[1])} = %s"
    )
    params = [field.get_db_prep_save(value, connection) for (field, _), value in fields]
    with transaction.mark_for_rollback_on_error(connection.alias), connection.cursor() as cursor:
        cursor.execute(sql, [*params, pk, old_status])
        return cursor.rowcount


def _column(name: str) -> tuple[Field, str]:
    """The call's field ``name`` (or attname) and its column."""
    field = Call._meta.get_field(name)
    assert isinstance(field, Field) and field.column is not None  # one of the call's columns
    return field, field.column


def _orm_only(value: Any) -> bool:
    """An expression (``F("poll_count") + 1``) or a model instance: what the ORM resolves."""
    return hasattr(value, "resolve_expression") or hasattr(value, "prepare_database_save")


def announce(call: Call, old_status: str, new_status: str) -> None:
    log_call(call, f"{old_status} → {new_status}")
    transaction.on_commit(partial(_send_signals, call, old_status, new_status))


def _send_signals(call: Call, old_status: str, new_status: str) -> None:
    send_robust(call_status_changed, Call, call=call, old_status=old_status, new_status=new_status)
    if new_status == Call.Status.SUCCESS:
        send_robust(call_succeeded, Call, call=call)
    elif new_status == Call.Status.FAILED:
        redial = delivery.redial_after(call)
        send_robust(call_failed, Call, call=call, reason=call.failure_reason, redial=redial)


def log_call(call: Call, event: str) -> None:
    # The reason may hold the provider's own text: escaped, it cannot forge a line.
    failed = call.status == Call.Status.FAILED
    reason = f", reason: {loggable(call.failure_reason)}" if failed else ""
    logger.info(
        "Call %s %s (campaign %s, phone %s%s)",
        call.pk,
        event,
        call.campaign.campaign_id,
        call.masked_phone_number,
        reason,
        extra={
            "call_id": call.pk,
            "campaign": call.campaign.campaign_id,
            "phone": call.masked_phone_number,
            "event": event,
        },
    )
