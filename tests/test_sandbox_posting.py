"""The sandbox's callback queue: posted at their time, by a fixed set of threads."""

import threading
import time

from django_voiceotp.sandbox.posting import CallbackQueue


def recorder(posted: list, name: str, done: threading.Event | None = None):
    def post(session) -> None:
        posted.append((name, session))
        if done is not None:
            done.set()

    return post


def test_callbacks_are_posted_in_the_order_they_fall_due():
    queue, posted = CallbackQueue(threads=2), []
    queue.schedule(0.3, recorder(posted, "late"))
    queue.schedule(0.0, recorder(posted, "now"))
    queue.schedule(0.1, recorder(posted, "soon"))

    assert queue.join(timeout=5)
    assert [name for name, _ in posted] == ["now", "soon", "late"]
    # Posted over a session that reads no proxy or netrc from the environment.
    assert all(session.trust_env is False for _, session in posted)


def test_a_callback_is_not_posted_before_its_time():
    queue, posted = CallbackQueue(threads=1), []
    queue.schedule(0.5, recorder(posted, "later"))

    assert not queue.join(timeout=0.2)
    assert posted == []
    assert queue.join(timeout=5)
    assert [name for name, _ in posted] == ["later"]


def test_a_slow_receiver_holds_back_no_other_callback():
    queue, posted, release = CallbackQueue(threads=2), [], threading.Event()
    queue.schedule(0, lambda session: release.wait(5))
    second = threading.Event()
    queue.schedule(0.05, recorder(posted, "other", second))

    assert second.wait(2)  # while the first is still being posted
    assert not release.is_set()
    release.set()
    assert queue.join(timeout=5)


def test_cancel_drops_what_is_not_posted_yet():
    queue, posted = CallbackQueue(threads=1), []
    queue.schedule(0.2, recorder(posted, "cancelled"))

    queue.cancel()
    time.sleep(0.4)  # past the moment it was due

    assert queue.join(timeout=0)
    assert posted == []


def test_scheduling_a_burst_starts_no_thread_per_callback():
    queue, posted = CallbackQueue(threads=3), []
    before = threading.active_count()

    for index in range(200):
        queue.schedule(0.01, recorder(posted, str(index)))

    assert threading.active_count() - before == 3
    assert queue.join(timeout=10)
    assert sorted(int(name) for name, _ in posted) == list(range(200))
