"""A second process posting HTTP requests concurrently: ``python -m tests.production.loadgen``.

Reads a JSON list of requests (``{"url", "body", "content_type"}``) from the file given, posts
them from ``--concurrency`` threads (one pooled session each) and prints one JSON object: each
request's HTTP status (or the exception's class name), each latency in milliseconds, the elapsed
wall time. Loopback only: it refuses any other host.
"""

from __future__ import annotations

import argparse
import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

import requests

_local = threading.local()


def _session() -> requests.Session:
    if not hasattr(_local, "session"):
        _local.session = requests.Session()
    return _local.session


def post(spec: dict) -> tuple[int | str, float]:
    started = time.perf_counter()
    try:
        response = _session().post(
            spec["url"],
            data=spec["body"].encode("utf-8"),
            headers={"Content-Type": spec.get("content_type", "application/json")},
            timeout=30,
        )
        status: int | str = response.status_code
    except requests.RequestException as err:
        status = type(err).__name__
    return status, (time.perf_counter() - started) * 1000


def run(specs: list[dict], concurrency: int) -> dict:
    for spec in specs:
        if urlsplit(spec["url"]).hostname not in ("127.0.0.1", "localhost"):
            raise SystemExit(f"loopback only: {spec['url']}")
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        results = list(pool.map(post, specs))
    return {
        "statuses": [status for status, _ in results],
        "latencies_ms": [latency for _, latency in results],
        "elapsed": time.perf_counter() - started,
    }


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] if ordered else 0.0


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.production.loadgen")
    parser.add_argument("requests_file")
    parser.add_argument("--concurrency", type=int, default=32)
    args = parser.parse_args(argv)
    with open(args.requests_file) as file:
        specs = json.load(file)
    print(json.dumps(run(specs, args.concurrency)))


if __name__ == "__main__":
    main()
