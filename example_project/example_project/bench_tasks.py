"""A bare Celery task: the yardstick of the latency benchmark's Celery floor.

Imported by the workers ``make bench`` starts (``--include``). It places one call with a pooled
``requests`` session per thread, as the bare loop does, and touches neither the database nor the
app: what Celery itself costs around the provider's request.
"""

import threading

import requests
from celery import shared_task

_local = threading.local()


@shared_task(ignore_result=True)
def bare_send(url: str, token: str, payload: dict) -> None:
    if not hasattr(_local, "session"):
        _local.session = requests.Session()
    response = _local.session.post(url, json=payload, headers={"Authorization": token}, timeout=10)
    response.raise_for_status()
