"""Storing a callback's event: the row ``event.save()`` would insert, in a statement written here.

Every callback that reaches a call still waiting for its result stores one event, inside the
transaction that applies the report. Through the ORM, building that ``INSERT`` costs about twice
what running it does (benchmarks/RESULTS.md, the callback profile), so the statement is written
here, its values prepared by each field as ``save()`` prepares them.
"""

from __future__ import annotations

from django.db import connections, router
from django.db.models.signals import post_save, pre_save

from ..models import CallbackEvent


def insert_event(event: CallbackEvent) -> None:
    """Insert the new ``event``, as ``event.save()`` would, and give it its primary key.

    A project whose receivers listen for the model's ``pre_save`` or ``post_save`` gets
    ``save()`` itself, signals and all: the statement written here sends none.
    """
    if pre_save.has_listeners(CallbackEvent) or post_save.has_listeners(CallbackEvent):
        event.save()
        return
    meta = CallbackEvent._meta
    connection = connections[router.db_for_write(CallbackEvent, instance=event)]
    fields = [field for field in meta.concrete_fields if field is not meta.auto_field]
    values = [field.get_db_prep_save(field.pre_save(event, True), connection) for field in fields]
    quote = connection.ops.quote_name
    table, pk_column = meta.db_table, str(meta.pk.column)
    columns = ", ".join(quote(str(field.column)) for field in fields)
    sql = f"INSERT INTO {quote(table)} ({columns}) VALUES ({', '.join(['%s'] * len(fields))})"
    returning = connection.features.can_return_columns_from_insert
    if returning:
        sql += f" RETURNING {quote(pk_column)}"
    with connection.cursor() as cursor:
        cursor.execute(sql, values)
        if returning:
            event.pk = cursor.fetchone()[0]
        else:
            event.pk = connection.ops.last_insert_id(cursor, table, pk_column)
    event._state.adding = False
    event._state.db = connection.alias
