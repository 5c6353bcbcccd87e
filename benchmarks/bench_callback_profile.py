"""Where a gunicorn worker's CPU goes for a callback, and for the bare view: sampled with py-spy.

The callback benchmark's load (``bench_throughput``: 32 concurrent posts from a second process)
on the stack's sync gunicorn workers, each worker sampled by py-spy (``--gil``: only samples
holding the interpreter, so a wait on PostgreSQL or the socket is not counted). Each
sample is given to the innermost part of the request it was in (``PARTS``, searched from the
innermost frame out), so the shares add up to 100 %. py-spy is not a dependency of the project:
without it (``.venv/bin/pip install py-spy``) this prints how to get it and measures nothing.
"""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from django_voiceotp.models import CallbackEvent
from tests.production.factories import sent_calls
from tests.production.stack import post_concurrently

from .bench_throughput import CALLBACK_CONCURRENCY, callback_specs
from .conftest import add_row

pytestmark = pytest.mark.django_db(transaction=True)

POSTS = 2000
SAMPLE_RATE = 250

#: (label, file suffix, function name): a sample belongs to the first of these, in this order,
#: met walking its stack from the innermost frame outwards. "" matches any file or function.
PARTS: list[tuple[str, str, str]] = [
    ("signals, sent on commit", "django_voiceotp/transitions.py", "_send_signals"),
    ("log lines", "logging/__init__.py", ""),
    ("metrics", "django_voiceotp/metrics.py", ""),
    ("body: JSON parse + storable copy", "django_voiceotp/payloads.py", ""),
    ("report: the provider's parse", "django_voiceotp/providers/", "parse_webhook"),
    ("log lines", "django_voiceotp/transitions.py", "log_call"),
    ("report: the guarded UPDATE (transition)", "django_voiceotp/transitions.py", ""),
    ("report: apply_report, other", "django_voiceotp/results.py", ""),
    ("event INSERT", "django_voiceotp/callbacks/events.py", ""),
    ("event INSERT", "django/db/models/base.py", "save"),
    ("transaction: begin / commit", "django/db/transaction.py", ""),
    ("read of the call (one SELECT)", "django_voiceotp/claims.py", "read_call"),
    ("token check (signature)", "django_voiceotp/callback_urls.py", ""),
    ("client address", "django_voiceotp/limits/", ""),
    ("door, other", "django_voiceotp/callbacks/door.py", ""),
    ("the view, other", "django_voiceotp/callbacks/views.py", ""),
    ("the bare view", "example_project/bench_urls.py", "bare_callback"),
    ("DRF: request, negotiation, render", "rest_framework/", ""),
    ("middleware", "django/middleware/", ""),
    ("middleware", "django/contrib/sessions/middleware.py", ""),
    ("middleware", "django/contrib/messages/middleware.py", ""),
    ("middleware", "django/contrib/auth/middleware.py", ""),
    ("URL resolving", "django/urls/", ""),
    ("Django's handler (request, response)", "django/core/handlers/", ""),
    ("Django's handler (request, response)", "django/http/", ""),
    ("gunicorn: HTTP parse and write", "gunicorn/", ""),
]


def part_of(stack: list[str]) -> str:
    """The part a sample's frames (outermost first, "name (file:line)") belong to."""
    for frame in reversed(stack):
        name, _, where = frame.partition(" (")
        filename = where.rsplit(":", 1)[0]
        for label, suffix, function in PARTS:
            if suffix in filename and function in ("", name, name.rpartition(".")[2]):
                return label
    return "other (stdlib, interpreter)"


def read_samples(raw: Path) -> Counter[str]:
    """Samples per part from py-spy's raw (collapsed) output of the gunicorn workers."""
    parts: Counter[str] = Counter()
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        frames = stack.split(";")
        if not any("/handlers/wsgi.py" in frame for frame in frames):
            continue  # the arbiter and the worker's idle loop: not a request's
        parts[part_of(frames)] += int(count)
    return parts


def py_spy() -> str | None:
    """py-spy on the PATH, or beside this interpreter (installed in the virtualenv)."""
    beside = Path(sys.executable).with_name("py-spy")
    return shutil.which("py-spy") or (str(beside) if beside.exists() else None)


def profiled_posts(stack, specs: list[dict], tmp_path: Path, name: str) -> Counter[str]:
    raw = tmp_path / f"{name}.txt"
    spy = subprocess.Popen(  # noqa: S603 - a fixed command line
        [
            py_spy() or "py-spy",
            "record",
            f"--pid={stack.web.pid}",
            "--subprocesses",
            f"--rate={SAMPLE_RATE}",
            "--gil",  # only the thread holding the interpreter: on CPU, not waiting
            "--nonblocking",
            "--format=raw",
            f"--output={raw}",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        result = post_concurrently(specs, CALLBACK_CONCURRENCY, tmp_path)
    finally:
        spy.send_signal(signal.SIGINT)  # py-spy writes what it sampled, then exits
        spy.wait(timeout=60)
    assert set(result["statuses"]) == {200}
    return read_samples(raw)


def shares(parts: Counter[str]) -> dict[str, float]:
    total = sum(parts.values()) or 1
    return {label: count / total for label, count in parts.most_common()}


def test_profile_of_a_callback(stack, tmp_path, capsys):
    if py_spy() is None:
        add_row("profile: callback", "py-spy not installed", note=".venv/bin/pip install py-spy")
        return
    stack.sandbox.reset()
    warm = sent_calls(200)
    post_concurrently(callback_specs(warm, False, stack.web_url), CALLBACK_CONCURRENCY, tmp_path)
    calls = sent_calls(POSTS)
    bare = profiled_posts(stack, callback_specs(calls, True, stack.web_url), tmp_path, "bare")
    app = profiled_posts(stack, callback_specs(calls, False, stack.web_url), tmp_path, "app")
    assert CallbackEvent.objects.filter(call__in=calls, verdict="applied").count() == POSTS

    per_post = {
        "app": {label: count / POSTS for label, count in app.items()},
        "bare": {label: count / POSTS for label, count in bare.items()},
    }
    with capsys.disabled():
        print(f"\nCallback profile (py-spy, {SAMPLE_RATE} Hz, {POSTS} posts each, samples/post):")
        for label, share in shares(app).items():
            bare_figure = per_post["bare"].get(label, 0.0)
            print(
                f"  {label:<42} {share:5.0%}  {per_post['app'][label]:.3f}  bare {bare_figure:.3f}"
            )
        print(json.dumps(per_post))
    top = ", ".join(f"{label} {share:.0%}" for label, share in list(shares(app).items())[:6])
    add_row(
        "profile: callback worker CPU (py-spy)",
        f"{sum(app.values()) / POSTS:.2f} samples/post",
        f"bare view {sum(bare.values()) / POSTS:.2f} samples/post",
        f"x{sum(app.values()) / max(sum(bare.values()), 1):.1f}",
        note=top,
    )
