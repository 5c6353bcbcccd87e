"""The django-health-check plugin on PostgreSQL: probes leave no database connection open."""

from __future__ import annotations

import psutil
import pytest
from django.db import connection

from django_voiceotp import tasks

pytestmark = [pytest.mark.urls("tests.urls_health"), pytest.mark.django_db(transaction=True)]

PROBES = 50


def backends() -> int:
    """Connections PostgreSQL holds open to the test database from this process, this one included.

    Only this process's: the tier's workers and beat, running meanwhile, open and close their own.
    """
    with connection.cursor() as cursor:
        server_port = int(connection.settings_dict["PORT"])
        own_ports = [
            socket.laddr.port
            for socket in psutil.Process().net_connections(kind="tcp")
            if socket.raddr and socket.raddr.port == server_port
        ]
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE datname = current_database() AND client_port = ANY(%s)",
            [own_ports],
        )
        return cursor.fetchone()[0]


def test_health_probes_leave_no_connection_open(client, connections_opened_in_other_threads):
    tasks.poll_pending_calls()
    before = backends()
    for _ in range(PROBES):
        client.get("/health/", {"format": "json"})
    # The backlog check ran in django-health-check's worker threads, on a connection of each.
    assert len(connections_opened_in_other_threads) >= PROBES
    assert [c for c in connections_opened_in_other_threads if c.connection is not None] == []
    assert backends() == before
