"""What a test does in the project of ``tasks_settings``, as a process of that project.

``python -m tests.production.tasks_driver COMMAND ARGUMENTS_AS_JSON`` prints its answer as JSON:

- ``send {"count", "prefix", "copies", "threads"}``: ``send_otp`` to ``count`` numbers (``prefix``
  then the index), from ``threads`` threads; each call's send is then handed to the queue
  ``copies - 1`` times more (a duplicated task). Answers the call ids.
- ``wait {"call_ids", "timeout"}``: until every call is final, or ``timeout`` seconds have passed;
  answers the calls still not final.
- ``report {"call_ids"}``: each call (number, status, failure reason, send attempts, provider id,
  passcode erased), the signals each fired (with how many times), and the backend's task rows of
  these calls (job, status, deferred by how long, worker ids).
"""

from __future__ import annotations

import json
import sys
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import django


def send(count: int, prefix: str, copies: int = 1, threads: int = 4) -> list[int]:
    from django.db import connection

    from django_voiceotp import dispatch, send_otp

    def one(index: int) -> int:
        try:
            call_id = send_otp(f"{prefix}{index:07d}", f"{index:06d}").pk
            for _ in range(copies - 1):
                dispatch.enqueue("send_call", call_id)
            return call_id
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=threads) as pool:
        return list(pool.map(one, range(count)))


def wait(call_ids: list[int], timeout: float) -> list[list]:
    from django_voiceotp.models import Call

    deadline = time.monotonic() + timeout
    while True:
        left = list(
            Call.objects.filter(pk__in=call_ids)
            .exclude(status__in=Call.FINAL_STATUSES)
            .values_list("pk", "status")
        )
        if not left or time.monotonic() > deadline:
            return [list(row) for row in left]
        time.sleep(0.25)


def report(call_ids: list[int]) -> dict:
    from django_tasks_db.models import DBTaskResult, get_date_max
    from signal_log.models import SignalRecord

    from django_voiceotp.models import Call

    fields = ("phone_number", "status", "failure_reason", "send_attempts", "provider_call_id")
    calls = {
        call["pk"]: {**{name: call[name] for name in fields}, "otp_erased": call["otp"] == ""}
        for call in Call.objects.filter(pk__in=call_ids).values("pk", "otp", *fields)
    }
    signals: dict[int, Counter] = {pk: Counter() for pk in call_ids}
    records = SignalRecord.objects.filter(call_id__in=call_ids)
    for pk, *fired in records.values_list("call_id", "signal", "old_status", "new_status"):
        signals[pk][tuple(fired)] += 1
    wanted = set(call_ids)
    never = get_date_max()
    tasks = [
        {
            "job": task.task_path.rsplit(".", 1)[-1],
            "call_id": task.args_kwargs["args"][0],
            "status": task.status,
            # Seconds from enqueueing to run_after: None for a task to run at once.
            "deferred_by": None
            if task.run_after == never
            else (task.run_after - task.enqueued_at).total_seconds(),
            "worker_ids": task.worker_ids,
        }
        for task in DBTaskResult.objects.all()
        if task.args_kwargs["args"] and task.args_kwargs["args"][0] in wanted
    ]
    return {
        "calls": calls,
        "signals": {
            pk: [[*key, count] for key, count in fired.items()] for pk, fired in signals.items()
        },
        "tasks": tasks,
    }


COMMANDS = {"send": send, "wait": wait, "report": report}


if __name__ == "__main__":
    django.setup()
    command, arguments = sys.argv[1], json.loads(sys.argv[2])
    print(json.dumps(COMMANDS[command](**arguments)))
