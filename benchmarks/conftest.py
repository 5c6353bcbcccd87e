"""``make bench``: the production tier's deployment (tests/production) measured, not tested.

Run as ``pytest benchmarks --ds=tests.production.settings -o python_files=bench_*.py``: the
tier's fixtures, imported below, start PostgreSQL, Redis, the sandbox, gunicorn and the Celery
workers. Each benchmark adds rows to ``TABLE``, printed at the end.
Nothing here asserts a time: the figures are ratios measured in the same run, to be read.
"""

from __future__ import annotations

import pytest

from tests.production.conftest import (  # noqa: F401 - fixtures, found by name
    _redis_settings,
    database_url,
    django_db_modify_db_settings,
    postgres_server,
    redis_server,
    sandbox_server,
    stack,
    worker_pool,
)
from tests.production.stack import Stack


@pytest.fixture(scope="session")
def stack_session(  # noqa: F811 - the tier's fixture, with the settings of a real deployment
    sandbox_server,  # noqa: F811
    redis_server,  # noqa: F811
    database_url,  # noqa: F811
    django_db_setup,
    tmp_path_factory,
):
    """The tier's deployment with the app's default delivery settings (first poll after 15 s,
    sweeper every 15 s) and without the test-only signal_log rows: the app's cost, not the host's.
    """
    deployment = Stack(
        sandbox=sandbox_server,
        redis=redis_server,
        database_url=database_url,
        logs=tmp_path_factory.mktemp("stack-logs"),
        record_signals=False,
        voiceotp_options={},
        sweep_interval=15,
    )
    try:
        yield deployment.start()
    finally:
        deployment.stop()


#: (benchmark, measured, yardstick, ratio or figure, note)
TABLE: list[tuple[str, str, str, str, str]] = []


def pytest_terminal_summary(terminalreporter):
    if not TABLE:
        return
    terminalreporter.section("django-voiceotp benchmarks")
    headers = ("benchmark", "measured", "yardstick", "ratio / figure", "note")
    widths = [max(len(str(row[i])) for row in [headers, *TABLE]) for i in range(len(headers))]
    line = "  ".join(f"{{:<{width}}}" for width in widths)
    terminalreporter.write_line(line.format(*headers))
    terminalreporter.write_line(line.format(*("-" * width for width in widths)))
    for row in TABLE:
        terminalreporter.write_line(line.format(*row))
