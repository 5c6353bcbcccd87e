"""``make bench``: the production tier's deployment (tests/production) measured, not tested.

Run as ``pytest benchmarks --ds=tests.production.settings -o python_files=bench_*.py``: the
tier's fixtures, imported below, start PostgreSQL, Redis, the sandbox, gunicorn and the Celery
workers. Each benchmark adds rows to ``TABLE``, printed at the end.
Nothing here asserts a time: the figures are ratios measured in the same run, to be read.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import psutil
import pytest
import requests

from django_voiceotp.sandbox import CAMPAIGN_ID, SECRET_KEY, USER_ID
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


@pytest.fixture(scope="session", autouse=True)
def _no_signal_log_here():
    """This process records no signals either: a benchmark that runs the send here (the profile)
    measures the app, not the example project's receivers."""
    from signal_log import receivers

    receivers.disconnect()
    yield
    receivers.connect()


#: (benchmark, measured, yardstick, ratio or figure, target, met, note), by ``add_row``.
TABLE: list[tuple[str, str, str, str, str, str, str]] = []


def add_row(
    benchmark: str,
    measured: str,
    yardstick: str = "",
    figure: str = "",
    *,
    target: str = "",
    met: bool | None = None,
    note: str = "",
) -> None:
    """A row of the table; ``met`` says whether ``target`` is (None: a figure without one)."""
    verdict = "" if met is None else ("met" if met else "NOT MET")
    TABLE.append((benchmark, measured, yardstick, figure, target, verdict, note))


def pytest_terminal_summary(terminalreporter):
    if not TABLE:
        return
    terminalreporter.section("django-voiceotp benchmarks")
    headers = ("benchmark", "measured", "yardstick", "ratio / figure", "target", "met", "note")
    widths = [max(len(str(row[i])) for row in [headers, *TABLE]) for i in range(len(headers))]
    line = "  ".join(f"{{:<{width}}}" for width in widths)
    terminalreporter.write_line(line.format(*headers))
    terminalreporter.write_line(line.format(*("-" * width for width in widths)))
    for row in TABLE:
        terminalreporter.write_line(line.format(*row).rstrip())


def load_average() -> str:
    """The machine's load over 1, 5 and 15 minutes: what else ran beside a measurement."""
    return " / ".join(f"{figure:.2f}" for figure in psutil.getloadavg())


def sandbox_token(sandbox_url: str) -> str:
    return requests.post(
        f"{sandbox_url}api/v1/users/generate_access_token",
        json={"secret_key": SECRET_KEY},
        timeout=10,
    ).json()["data"]["access_token"]


def call_request(sandbox_url: str, index: int) -> tuple[str, dict]:
    """The URL and body of the provider's call request for call number ``index``."""
    url = f"{sandbox_url}api/v1/campaigns/{CAMPAIGN_ID}/voiceotp"
    contact = {"phone_number": f"077{index:07d}", "otp": "482915"}
    return url, {"user_id": USER_ID, "contact": contact}


def bare_send_loop(sandbox_url: str, count: int, threads: int) -> float:
    """Seconds a bare pooled ``requests`` loop takes to place ``count`` calls from ``threads``
    threads, each with its own session: the baseline the app's sends are measured against."""
    token = sandbox_token(sandbox_url)
    local = threading.local()

    def place(index: int) -> int:
        if not hasattr(local, "session"):
            local.session = requests.Session()
        url, payload = call_request(sandbox_url, index)
        response = local.session.post(
            url, json=payload, headers={"Authorization": token}, timeout=10
        )
        return response.status_code

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=threads) as pool:
        statuses = list(pool.map(place, range(count)))
    elapsed = time.perf_counter() - started
    assert set(statuses) == {200}
    return elapsed
