"""The sandbox's callbacks: each posted when it falls due, by a few threads that keep their
connections to the receiver open.

Placing a call only puts its callback on a heap. A thread started per callback, while the call
request waited under the sandbox's lock, made every answer wait for a new thread: under a burst of
hundreds of calls the sandbox answered seconds late, past a client's read timeout.
"""

from __future__ import annotations

import heapq
import itertools
import threading
import time
from collections.abc import Callable

import requests

#: Threads posting the callbacks that are due: enough that a slow receiver does not hold the
#: others back. Under a burst, callbacks wait their turn, each posted as soon as a thread is free.
POSTING_THREADS = 16

#: What posts one callback, over the posting thread's session.
Post = Callable[[requests.Session], None]


def callback_session() -> requests.Session:
    """A session for posting callbacks: straight to the callback URL, whatever proxy or
    ``~/.netrc`` the environment names (a netrc's credentials would be sent to the receiver)."""
    session = requests.Session()
    session.trust_env = False
    return session


class CallbackQueue:
    """Callbacks waiting for their time, and the threads that post them."""

    def __init__(self, threads: int = POSTING_THREADS) -> None:
        self._threads = threads
        self._started = False
        self._changed = threading.Condition()
        self._due: list[tuple[float, int, Post]] = []
        self._order = itertools.count()  # equal times keep the order they were scheduled in
        self._unfinished = 0  # waiting or being posted

    def schedule(self, delay: float, post: Post) -> None:
        """Run ``post`` with a session in ``delay`` seconds."""
        with self._changed:
            if not self._started:
                self._start()
            heapq.heappush(self._due, (time.monotonic() + delay, next(self._order), post))
            self._unfinished += 1
            self._changed.notify()

    def cancel(self) -> None:
        """Drop every callback not posted yet; one being posted is not stopped."""
        with self._changed:
            self._unfinished -= len(self._due)
            self._due.clear()
            self._changed.notify_all()

    def join(self, timeout: float) -> bool:
        """Wait until no callback waits or is being posted; False if ``timeout`` ran out."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while self._unfinished:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._changed.wait(remaining)
            return True

    def _start(self) -> None:
        for index in range(self._threads):
            name = f"sandbox-callbacks-{index}"
            threading.Thread(target=self._post_when_due, name=name, daemon=True).start()
        self._started = True

    def _post_when_due(self) -> None:
        session = callback_session()
        while True:
            with self._changed:
                while not self._due or self._due[0][0] > time.monotonic():
                    self._changed.wait(self._due[0][0] - time.monotonic() if self._due else None)
                post = heapq.heappop(self._due)[2]
            try:
                post(session)
            finally:
                with self._changed:
                    self._unfinished -= 1
                    self._changed.notify_all()
