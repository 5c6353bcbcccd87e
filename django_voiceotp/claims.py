"""Reading, claiming and marking calls sent, in statements written here, not built by the ORM.

The send, the poll and every callback read their call first, and a send claims it; in the
profile, building these statements through the ORM cost several times what running them does
(benchmarks/RESULTS.md). The claim is the guarded update that makes a duplicated send place
nothing; a batch's claim and its move to ``sent`` are one statement each, whatever its size.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.db import connections, router

from .conf import voiceotp_settings
from .db import instance_from_row, updates_returning
from .models import Call, Campaign


def claim_and_read(call_id: int, now: datetime) -> Call | None:
    """``claim_send`` and ``read_call`` in one ``UPDATE … RETURNING``.

    None when the call is not claimable (not pending, held by another attempt, a retry not yet
    due, or too old to send), and on a database without ``UPDATE … RETURNING``: the caller then
    reads the call to decide.
    """
    connection = connections[router.db_for_write(Call)]
    if not updates_returning(connection):
        return None
    names = _Names(connection)
    column = names.call_columns
    attempts, next_attempt = column["send_attempts"], column["next_attempt_at"]
    sql = (
        f"UPDATE {names.call_table} SET {attempts} = {attempts} + 1, {next_attempt} = %s "
        f"WHERE {column['id']} = %s AND {column['status']} = %s "
        f"AND ({attempts} = 0 OR {next_attempt} <= %s) AND {column['created_at']} >= %s "
        f"RETURNING {names.call_with_campaign}"
    )
    adapt = connection.ops.adapt_datetimefield_value
    max_age = timedelta(seconds=voiceotp_settings.OTP_MAX_AGE)
    lease_until = now + timedelta(seconds=send_lease())
    params = [adapt(lease_until), call_id, Call.Status.PENDING, adapt(now), adapt(now - max_age)]
    return _call_from_statement(connection, sql, params)


def claim_waiting(call_id: int | None, limit: int, now: datetime) -> list[Call] | None:
    """Claim up to ``limit`` calls waiting to be placed, ``call_id`` first, in one ``UPDATE …
    RETURNING``; each comes back with its campaign, as ``claim_and_read`` returns one.

    Waiting: a first call never attempted (due at once: its ``next_attempt_at`` is only the
    sweeper's grace), or a call whose time has come (a redial's delay, a retry's backoff, the
    lease of an attempt whose worker died). ``call_id`` is also taken when never attempted (a
    redial whose job has come). Calls too old to send are left to the sweeper, which expires
    them. On PostgreSQL the rows are taken ``FOR UPDATE SKIP LOCKED``, so batches claimed at
    once share no call and wait for no other; SQLite runs the statement under its write lock.
    None on a database without ``UPDATE … RETURNING``.
    """
    connection = connections[router.db_for_write(Call)]
    if not updates_returning(connection):
        return None
    names = _Names(connection)
    column = names.call_columns
    pk, attempts, next_attempt = column["id"], column["send_attempts"], column["next_attempt_at"]
    skip_locked = " FOR UPDATE SKIP LOCKED" if connection.vendor == "postgresql" else ""
    # The batch is chosen once, in a materialised WITH: as an IN (subquery), PostgreSQL may run
    # a LIMIT … SKIP LOCKED subquery again for each row it updates, and claim past the limit.
    sql = (
        f"WITH batch AS MATERIALIZED (SELECT {pk} FROM {names.call_table} "
        f"WHERE {column['status']} = %s AND {column['created_at']} >= %s AND ("
        f"({pk} = %s AND {attempts} = 0) OR {next_attempt} <= %s "
        f"OR ({attempts} = 0 AND {column['redial_of']} IS NULL)) "
        f"ORDER BY CASE WHEN {pk} = %s THEN 0 ELSE 1 END, {pk} LIMIT %s{skip_locked}) "
        f"UPDATE {names.call_table} SET {attempts} = {attempts} + 1, {next_attempt} = %s "
        f"WHERE {pk} IN (SELECT {pk} FROM batch) AND {column['status']} = %s "
        f"RETURNING {names.call_with_campaign}"
    )
    adapt = connection.ops.adapt_datetimefield_value
    lease_until = now + timedelta(seconds=send_lease())
    oldest = now - timedelta(seconds=voiceotp_settings.OTP_MAX_AGE)
    pending = Call.Status.PENDING
    first = -1 if call_id is None else call_id
    params = [pending, adapt(oldest), first, adapt(now), first, limit, adapt(lease_until), pending]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    calls = [_call_from_row(connection, row) for row in rows]
    return sorted(calls, key=lambda call: (call.pk != call_id, call.pk))


def mark_sent(
    placed: list[tuple[int, str]], now: datetime, next_poll_at: datetime
) -> dict[int, str] | None:
    """Move placed calls (id, the provider's call id) from ``pending`` to ``sent`` in one
    ``UPDATE … RETURNING``, guarded as one call's move is: a call a callback reached first
    (its ``next_poll_at`` set by ``note_early_report``) is not moved. The calls moved, each
    with the provider's id it now holds (one a callback stored first is kept). None on a
    database without ``UPDATE … RETURNING``.
    """
    connection = connections[router.db_for_write(Call)]
    if not updates_returning(connection):
        return None
    names = _Names(connection)
    column = names.call_columns
    pk, provider_id = column["id"], column["provider_call_id"]
    cases = " ".join("WHEN %s THEN %s" for _ in placed)
    sql = (
        f"UPDATE {names.call_table} SET {column['status']} = %s, {column['updated_at']} = %s, "
        f"{column['sent_at']} = %s, {column['next_attempt_at']} = NULL, "
        f"{column['next_poll_at']} = %s, "
        f"{provider_id} = COALESCE({provider_id}, CASE {pk} {cases} END) "
        f"WHERE {pk} IN ({', '.join('%s' for _ in placed)}) AND {column['status']} = %s "
        f"AND {column['next_poll_at']} IS NULL "
        f"RETURNING {pk}, {provider_id}"
    )
    adapt = connection.ops.adapt_datetimefield_value
    params: list[Any] = [Call.Status.SENT, adapt(now), adapt(now), adapt(next_poll_at)]
    for call_id, provider_call_id in placed:
        params += [call_id, provider_call_id]
    params += [call_id for call_id, _ in placed] + [Call.Status.PENDING]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return dict(cursor.fetchall())


def read_call(call_id: int) -> Call | None:
    """The call with its campaign, as ``Call.objects.select_related("campaign")`` reads it.

    The send, the poll and every callback read their call first. In the profile, building that
    query and its join through the ORM costs several times what running it does, so the
    statement is written here instead (benchmarks/RESULTS.md).
    """
    connection = connections[router.db_for_read(Call)]
    names = _Names(connection)
    selected = [f"{names.call_table}.{name}" for name in names.call_columns.values()]
    selected += [f"{names.campaign_table}.{name}" for name in names.campaign_columns.values()]
    sql = (
        f"SELECT {', '.join(selected)} FROM {names.call_table} "
        f"INNER JOIN {names.campaign_table} ON {names.campaign_join} "
        f"WHERE {names.call_table}.{names.call_columns['id']} = %s"
    )
    return _call_from_statement(connection, sql, [call_id])


def read_campaign(campaign_id: str) -> Campaign | None:
    """The campaign with this provider id, as the ORM reads it, in a statement written here:
    send_otp's one read, and the ORM's building of it cost twice its running (RESULTS.md)."""
    connection = connections[router.db_for_read(Campaign)]
    names = _Names(connection)
    sql = (
        f"SELECT {', '.join(names.campaign_columns.values())} FROM {names.campaign_table} "
        f"WHERE {names.campaign_columns['campaign_id']} = %s"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [campaign_id])
        row = cursor.fetchone()
    return None if row is None else instance_from_row(connection, Campaign, row)


def claim_send(call: Call, now: datetime) -> bool:
    """Take the call for one send attempt with a guarded update, so a duplicated task sends nothing.

    The first attempt may run at once; a later one only when its time has come (a retry's delay,
    or the lease of an attempt whose worker died).
    """
    claimable = Call.objects.filter(
        pk=call.pk, status=Call.Status.PENDING, send_attempts=call.send_attempts
    )
    if call.send_attempts:
        claimable = claimable.filter(next_attempt_at__lte=now)
    lease_until = now + timedelta(seconds=send_lease())
    if not claimable.update(send_attempts=call.send_attempts + 1, next_attempt_at=lease_until):
        return False
    call.send_attempts += 1
    call.next_attempt_at = lease_until
    return True


def send_lease() -> float:
    """Longest a send attempt can take: a token request, the call, and both again after a 401."""
    timeout = voiceotp_settings.TIMEOUT
    per_request = sum(timeout) if isinstance(timeout, (tuple, list)) else float(timeout)
    return 4 * per_request + 30


class _Names:
    """The quoted table and column names of a call and its campaign, for the statements written
    here; the columns of each by field name, in field order, as ``instance_from_row`` reads them."""

    def __init__(self, connection) -> None:
        quote = connection.ops.quote_name
        self.call_table = quote(Call._meta.db_table)
        self.campaign_table = quote(Campaign._meta.db_table)
        self.call_columns = {f.name: quote(f.column) for f in Call._meta.concrete_fields}
        self.campaign_columns = {f.name: quote(f.column) for f in Campaign._meta.concrete_fields}
        self.campaign_join = (
            f"{self.campaign_table}.{quote(Campaign._meta.pk.column)} "
            f"= {self.call_table}.{self.call_columns['campaign']}"
        )

    @property
    def call_with_campaign(self) -> str:
        """What an ``UPDATE … RETURNING`` returns to make a call with its campaign: RETURNING
        names one table, so the campaign's columns come from subqueries, not a join."""
        return ", ".join(
            [f"{self.call_table}.{name}" for name in self.call_columns.values()]
            + [
                f"(SELECT {name} FROM {self.campaign_table} WHERE {self.campaign_join})"
                for name in self.campaign_columns.values()
            ]
        )


def _call_from_statement(connection, sql: str, params: list[Any]) -> Call | None:
    """The Call (its campaign attached) of the one row ``sql`` returns: the call's columns, then
    the campaign's, each in field order. None when it returns no row."""
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    return None if row is None else _call_from_row(connection, row)


def _call_from_row(connection, row) -> Call:
    """The Call (its campaign attached) of a row holding the call's columns, then the
    campaign's, each in field order."""
    call_columns = len(Call._meta.concrete_fields)
    call = instance_from_row(connection, Call, row[:call_columns])
    # Cached as select_related caches it: assigning would ask the routers' allow_relation.
    Call.campaign.field.set_cached_value(
        call, instance_from_row(connection, Campaign, row[call_columns:])
    )
    return call
