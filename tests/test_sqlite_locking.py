"""On a host's plain SQLite settings, callbacks that arrive while the app writes are all applied.

SQLite refuses at once ("database is locked") a deferred transaction that read and then wants to
write while another connection writes; its busy timeout does not apply. These tests run with the
DATABASES entry a host project starts with (no OPTIONS: no transaction_mode, the default busy
timeout), senders in threads and the provider's callbacks over real HTTP to the live server.
"""

from __future__ import annotations

import threading

import pytest
from django.db import OperationalError, connection, transaction
from django.test.utils import CaptureQueriesContext

from django_voiceotp import request_code, send_otp
from django_voiceotp.db import write_transaction
from django_voiceotp.models import Call, CallbackEvent, Campaign
from django_voiceotp.sandbox.constants import OUTCOME_BY_LAST_DIGIT

from .concurrency import race

OTP = "482915"
SENDERS = 3
CALLS_PER_SENDER = 12

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def plain_sqlite(monkeypatch, transactional_db):
    """Every connection opened from now on uses the host's plain settings: ``OPTIONS`` empty.

    Each thread (senders, the live server's request threads) opens its own connection from this
    one settings dict; the test's own connection is reopened so it reads it too.
    """
    assert connection.vendor == "sqlite"
    monkeypatch.setitem(connection.settings_dict, "OPTIONS", {})
    connection.close()
    yield
    connection.close()  # reopened with the suite's settings by whoever needs it next


def expected_status(phone_number: str) -> str:
    return "failed" if phone_number[-1] in OUTCOME_BY_LAST_DIGIT else "success"


def phone_number(sender: int, index: int) -> str:
    return f"077112{sender}{index:03d}"


def assert_every_callback_applied(sandbox, signals, phone_numbers):
    assert sandbox.wait_for_callbacks(timeout=60)
    assert len(sandbox.calls) == len(phone_numbers)
    # 500 (database is locked) is what the provider got for each lost callback.
    assert [simulated.callback_responses for simulated in sandbox.calls] == [[200]] * len(
        phone_numbers
    )
    calls = Call.objects.order_by("pk")
    assert sorted((call.phone_number, call.status) for call in calls) == sorted(
        (number, expected_status(number)) for number in phone_numbers
    )
    verdicts = CallbackEvent.objects.values_list("call_id", "verdict")
    assert sorted(verdicts) == sorted((call.pk, "applied") for call in calls)
    finals = [name for name, *_ in signals.names() if name in ("succeeded", "failed")]
    assert len(finals) == len(phone_numbers)


def test_plain_settings_really_are_plain(plain_sqlite):
    def opened_in_a_thread(index):
        connection.ensure_connection()
        return connection.transaction_mode, connection.settings_dict["OPTIONS"]

    assert race(opened_in_a_thread, 2) == [(None, {}), (None, {})]


# -- the mechanism ------------------------------------------------------------------------------


def begins(block):
    """The BEGIN statement ``block`` runs, or None when it starts no transaction."""
    with CaptureQueriesContext(connection) as queries:
        with block:
            Campaign.objects.count()
    return next((q["sql"] for q in queries.captured_queries if q["sql"].startswith("BEGIN")), None)


def test_outermost_write_transaction_takes_the_write_lock_first(plain_sqlite):
    assert begins(transaction.atomic()) == "BEGIN"
    assert begins(write_transaction()) == "BEGIN IMMEDIATE"
    assert connection.transaction_mode is None  # only that block began differently


def test_inside_a_host_transaction_it_is_a_savepoint(plain_sqlite):
    with transaction.atomic():
        assert begins(write_transaction()) is None
        assert connection.in_atomic_block
    assert connection.transaction_mode is None


def test_a_configured_exclusive_mode_is_kept(plain_sqlite, monkeypatch):
    monkeypatch.setitem(connection.settings_dict, "OPTIONS", {"transaction_mode": "EXCLUSIVE"})
    connection.close()
    assert begins(write_transaction()) == "BEGIN EXCLUSIVE"


def test_a_failed_block_rolls_back_and_leaves_the_mode_as_it_was(plain_sqlite):
    with pytest.raises(RuntimeError), write_transaction():
        Campaign.objects.create(campaign_id="rolled-back")
        raise RuntimeError("the block failed")
    assert not Campaign.objects.filter(campaign_id="rolled-back").exists()
    assert connection.transaction_mode is None


def read_then_write_while_another_writes(block) -> str:
    """In ``block``, read then write while another connection holds the write lock.

    The writer commits as soon as this transaction runs the statement that needs the lock:
    ``BEGIN IMMEDIATE``, which waits for it, or a deferred transaction's first write.
    """
    holding, needing, outcome = threading.Event(), threading.Event(), []

    def writer():
        with transaction.atomic():
            Campaign.objects.create(campaign_id="writer")
            holding.set()
            needing.wait(timeout=30)

    def reader():
        connection.ensure_connection()
        connection.connection.set_trace_callback(
            lambda sql: sql.startswith(("BEGIN IMMEDIATE", "INSERT")) and needing.set()
        )
        try:
            with block:
                Campaign.objects.count()
                Campaign.objects.create(campaign_id="reader")
            outcome.append("committed")
        except OperationalError as err:
            outcome.append(str(err))
        finally:
            needing.set()

    threads = [threading.Thread(target=in_own_connection(writer))]
    threads[0].start()
    assert holding.wait(timeout=30)
    threads.append(threading.Thread(target=in_own_connection(reader)))
    threads[1].start()
    for thread in threads:
        thread.join(timeout=30)
    return outcome[0]


def in_own_connection(work):
    def run():
        try:
            work()
        finally:
            connection.close()

    return run


def test_a_deferred_read_then_write_is_refused_at_once(plain_sqlite):
    # The cause: SQLite does not wait (busy timeout) to upgrade a read to a write.
    assert read_then_write_while_another_writes(transaction.atomic()) == "database is locked"


def test_write_transaction_waits_for_the_write_lock(plain_sqlite):
    assert read_then_write_while_another_writes(write_transaction()) == "committed"
    assert sorted(Campaign.objects.values_list("campaign_id", flat=True)) == ["reader", "writer"]


# -- callbacks racing the app's writes, over HTTP -------------------------------------------------


def test_callbacks_racing_sends_are_all_applied(plain_sqlite, sandbox, callbacks_to, signals):
    def send(sender):
        for index in range(CALLS_PER_SENDER):
            send_otp(phone_number(sender, index), OTP)

    race(send, SENDERS)
    numbers = [phone_number(s, i) for s in range(SENDERS) for i in range(CALLS_PER_SENDER)]
    assert_every_callback_applied(sandbox, signals, numbers)


def test_callbacks_racing_code_requests_are_all_applied(
    plain_sqlite, sandbox, callbacks_to, signals, voiceotp
):
    voiceotp(RESEND_COOLDOWN=0)

    def request(sender):
        for index in range(CALLS_PER_SENDER):
            request_code(phone_number(sender, index))

    race(request, SENDERS)
    numbers = [phone_number(s, i) for s in range(SENDERS) for i in range(CALLS_PER_SENDER)]
    assert_every_callback_applied(sandbox, signals, numbers)


def test_the_callback_view_makes_its_own_transaction_under_atomic_requests(
    client, monkeypatch, transactional_db
):
    # With ATOMIC_REQUESTS the request's transaction would begin deferred before the view: on
    # SQLite the callback's read-then-write inside it could be refused by a lock.
    from django_voiceotp.callbacks import views

    monkeypatch.setitem(connection.settings_dict, "ATOMIC_REQUESTS", True)
    seen = []

    def receive_callback(*args, **kwargs):
        seen.append(connection.in_atomic_block)
        return real_receive_callback(*args, **kwargs)

    real_receive_callback = views.receive_callback
    monkeypatch.setattr(views, "receive_callback", receive_callback)
    response = client.post("/voiceotp/callbacks/forged/", b"{}", content_type="application/json")
    assert response.status_code == 403
    assert seen == [False]
