"""The HTTP session every backend shares: pooled per process, the environment read once per host."""

from __future__ import annotations

import os
import threading
from typing import Any
from urllib.parse import urlsplit

import requests
import requests.adapters
import requests.utils
import urllib3.exceptions

from .. import __version__
from ..payloads import PayloadError, parse_json

#: Connections kept open to a provider per process: at least the threads of a worker's pool
#: (``-P threads -c 32``, or more), so none of them opens a new connection per call. requests
#: keeps 10.
POOL_CONNECTIONS = 128


class ProviderSession(requests.Session):
    """A Session that reads the environment once per host, not on every request.

    requests, trusting the environment, walks ``os.environ`` for proxy variables and looks for a
    ``~/.netrc`` on every request: the largest part of a call request's CPU in the profile
    (benchmarks/RESULTS.md). Here the proxies (``HTTPS_PROXY``, ``NO_PROXY`` and the rest) and
    the CA bundle (``REQUESTS_CA_BUNDLE``, ``CURL_CA_BUNDLE``) are read the first time a host is
    asked, and kept for the life of the process; the CA bundle when the session is made.
    ``~/.netrc`` is never read: its credentials would replace the provider's token in the
    Authorization header.
    """

    def __init__(self) -> None:
        super().__init__()
        self.trust_env = False
        self._proxies_for: dict[tuple[str, str], dict[str, str]] = {}
        self._ca_bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")

    def merge_environment_settings(self, url, proxies, stream, verify, cert):
        host = urlsplit(url)[:2]
        environ_proxies = self._proxies_for.get(host)
        if environ_proxies is None:
            environ_proxies = self._proxies_for[host] = requests.utils.get_environ_proxies(url)
        proxies = {**environ_proxies, **(proxies or {})}
        if self._ca_bundle and verify in (True, None):
            verify = self._ca_bundle
        return super().merge_environment_settings(url, proxies, stream, verify, cert)


# One pooled session per process, shared by all its threads (urllib3's pool is thread-safe).
# Celery's prefork workers fork after import, and a socket shared across a fork would be used by
# two processes, so the pid is part of the key.
_sessions: dict[int, requests.Session] = {}
_sessions_lock = threading.Lock()


def get_session() -> requests.Session:
    pid = os.getpid()
    session = _sessions.get(pid)  # the common case takes no lock
    if session is not None:
        return session
    with _sessions_lock:
        session = _sessions.get(pid)
        if session is None:
            _sessions.clear()
            session = ProviderSession()
            session.headers["User-Agent"] = f"django-voiceotp/{__version__}"
            session.headers["Accept"] = "application/json"
            adapter = requests.adapters.HTTPAdapter(
                pool_connections=4, pool_maxsize=POOL_CONNECTIONS
            )
            session.mount("https://", adapter)
            session.mount("http://", adapter)
            _sessions[pid] = session
        return session


def read_answer(response: requests.Response, code_field: str) -> tuple[Any, int | None]:
    """A provider's answer: its JSON body (None when the body is not JSON) and the integer in its
    ``code_field``, the provider's own result code (None when absent or not an integer)."""
    try:
        body = parse_json(response.content)
    except PayloadError:
        body = None
    code = body.get(code_field) if isinstance(body, dict) else None
    return body, code if isinstance(code, int) and not isinstance(code, bool) else None


def never_sent(error: requests.RequestException) -> bool:
    """Whether the request failed before reaching the provider (no connection was made), so it
    placed nothing; a timeout or a lost connection after it was sent may have placed the call."""
    if isinstance(error, requests.ConnectTimeout):
        return True
    reason = getattr(error.args[0], "reason", None) if error.args else None
    # A refused connection or an unknown host: urllib3's NewConnectionError is a
    # ConnectTimeoutError, raised before a byte of the request is sent.
    return isinstance(error, requests.ConnectionError) and isinstance(
        reason, urllib3.exceptions.ConnectTimeoutError
    )
