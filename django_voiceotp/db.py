"""Transactions that hold on a host's plain SQLite settings."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.db import transaction

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
