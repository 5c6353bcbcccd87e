"""What the app needs of the database beyond the ORM: transactions that hold on a host's plain
SQLite settings, and rows read back from an ``UPDATE``."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar

from django.db import models, transaction

M = TypeVar("M", bound=models.Model)

#: The SQLite transaction modes that take the write lock when the transaction begins.
LOCKING_MODES = ("IMMEDIATE", "EXCLUSIVE")


@contextmanager
def write_transaction(using: str | None = None) -> Iterator[None]:
    """``transaction.atomic()`` for a block that reads before it writes; also a decorator.

    SQLite's default, deferred, transaction takes the write lock at its first write. When another
    connection is writing at that moment, SQLite refuses at once with "database is locked": its
    busy timeout does not apply, as waiting could deadlock. So, as the outermost block on SQLite,
    this one begins with ``BEGIN IMMEDIATE``: it waits for the write lock first, as long as the
    busy timeout allows, and is then refused nothing. Inside a host's transaction it is a plain
    savepoint: the lock is the outer transaction's to take (check ``django_voiceotp.I002``).
    """
    connection = transaction.get_connection(using)
    if connection.vendor != "sqlite" or connection.in_atomic_block:
        with transaction.atomic(using=using):
            yield
        return
    # Read when the connection opens, which atomic() would do after we set the mode.
    connection.ensure_connection()
    configured = connection.transaction_mode
    if configured not in LOCKING_MODES:
        connection.transaction_mode = "IMMEDIATE"
    try:
        with transaction.atomic(using=using):
            connection.transaction_mode = configured  # for this block's BEGIN only
            yield
    finally:
        connection.transaction_mode = configured


def updates_returning(connection) -> bool:
    """Whether ``connection`` runs ``UPDATE … RETURNING`` with scalar subqueries in the returned
    columns: PostgreSQL, and SQLite from 3.35 (Django 5.2 supports older ones)."""
    if connection.vendor == "postgresql":
        return True
    return connection.vendor == "sqlite" and connection.Database.sqlite_version_info >= (3, 35)


def instance_from_row(connection, model: type[M], row: Sequence[Any]) -> M:
    """A ``model`` instance from a row holding its concrete columns in field order, each value
    converted as the ORM converts what it reads (SQLite's dates and booleans, for one)."""
    compiler, converters, attnames = _row_reader(connection, model)
    if converters:
        row = next(iter(compiler.apply_converters([list(row)], converters)))
    return model.from_db(connection.alias, attnames, row)


def _row_reader(connection, model: type[models.Model]) -> tuple[Any, dict, list[str]]:
    """The compiler, converters and field names ``instance_from_row`` uses for ``model``, made
    once per connection (a thread's own): making them cost more than converting a row."""
    readers = connection.__dict__.setdefault("_voiceotp_row_readers", {})
    reader = readers.get(model)
    if reader is None:
        fields = model._meta.concrete_fields
        compiler = model._default_manager.none().query.get_compiler(connection=connection)
        columns = [field.get_col(model._meta.db_table) for field in fields]
        reader = readers[model] = (
            compiler,
            compiler.get_converters(columns),
            [field.attname for field in fields],
        )
    return reader
