"""Running the same work in several threads at once, each on its own database connection."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from django.db import connection


def race(work, count: int) -> list:
    """Run ``work(index)`` in ``count`` threads released together; return their results in order.

    Each thread closes its own database connection when done: Django opens one per thread,
    and a connection left open would keep the test database from being dropped.
    """
    barrier = threading.Barrier(count)

    def run(index):
        try:
            barrier.wait()
            return work(index)
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(run, range(count)))
