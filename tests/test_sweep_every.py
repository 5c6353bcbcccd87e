"""voiceotp_sweep --every: the sweeper in a loop of its own, for projects without a scheduler.

A sweep that raises is logged and the loop goes on; SIGTERM and SIGINT end it, after the sweep
under way or at once in the sleep between sweeps; a bad interval is a CommandError.
"""

import logging
import os
import signal
import threading

import pytest
from django.core.management import CommandError, call_command

from django_voiceotp import send_otp
from django_voiceotp.management.commands import voiceotp_sweep
from django_voiceotp.models import Call

COUNTS = {"expired": 0, "sent": 0, "polled": 0}


@pytest.mark.parametrize(
    "every", ["0", "-5", "0.0001", "1e-300", "0.99", "nan", "inf", "1e400", "86401", "soon", ""]
)
def test_a_bad_interval_is_a_command_error(every):
    with pytest.raises(CommandError, match="--every takes a number of seconds from 1 to 86400"):
        call_command("voiceotp_sweep", every=every)


@pytest.mark.parametrize("number", [signal.SIGTERM, signal.SIGINT])
def test_a_stop_signal_during_a_sweep_ends_the_loop_after_it(monkeypatch, capsys, number):
    sweeps = []

    def sweep():
        sweeps.append(len(sweeps) + 1)
        if len(sweeps) == 3:
            os.kill(os.getpid(), number)  # handled here, between two statements of the sweep
            sweeps.append("finished after the signal")
        return COUNTS

    monkeypatch.setattr(voiceotp_sweep, "sweep", sweep)
    before = signal.getsignal(number)
    call_command("voiceotp_sweep", every="1")
    assert sweeps == [1, 2, 3, "finished after the signal"]
    out = capsys.readouterr().out
    assert out.count("Swept: 0 call(s) expired, 0 sent again, 0 polled.") == 3
    assert out.endswith("Sweeper stopped.\n")
    assert signal.getsignal(number) is before  # the handlers it installed are gone


def test_a_stop_signal_between_sweeps_ends_the_sleep(monkeypatch):
    swept = threading.Event()
    sweeps = []

    def sweep():
        sweeps.append(1)
        if len(sweeps) > 1:
            # The signal did not end the hour's sleep: fail the test instead of waiting on.
            raise KeyboardInterrupt("a second sweep ran")
        swept.set()
        return COUNTS

    def stop_when_asleep():
        swept.wait()
        os.kill(os.getpid(), signal.SIGTERM)

    monkeypatch.setattr(voiceotp_sweep, "sweep", sweep)
    stopper = threading.Thread(target=stop_when_asleep)
    stopper.start()
    call_command("voiceotp_sweep", every="3600")
    stopper.join()
    assert sweeps == [1]


def test_a_sweep_that_raises_is_logged_and_the_loop_goes_on(monkeypatch, caplog):
    sweeps = []

    def sweep():
        sweeps.append(1)
        if len(sweeps) == 1:
            raise RuntimeError("database is away")
        os.kill(os.getpid(), signal.SIGTERM)
        return COUNTS

    monkeypatch.setattr(voiceotp_sweep, "sweep", sweep)
    with caplog.at_level(logging.ERROR, logger="django_voiceotp"):
        call_command("voiceotp_sweep", every="1")
    assert len(sweeps) == 2
    [record] = caplog.records
    assert record.getMessage() == "The sweep failed; the next one runs in 1.0 s."
    assert "database is away" in str(record.exc_info[1])


@pytest.mark.django_db(transaction=True)
def test_the_loop_runs_the_real_sweeper(sandbox, lost_sends, monkeypatch, capsys):
    """The loop sweeps as the single run does: a call whose send task was lost is placed."""
    call = send_otp("0771122330", "482915")
    Call.objects.filter(pk=call.pk).update(next_attempt_at=call.created_at)  # PENDING_GRACE over
    real_sweep = voiceotp_sweep.sweep

    def sweep_then_stop():
        counts = real_sweep()
        os.kill(os.getpid(), signal.SIGTERM)
        return counts

    monkeypatch.setattr(voiceotp_sweep, "sweep", sweep_then_stop)
    call_command("voiceotp_sweep", every="30")
    assert "Swept: 0 call(s) expired, 1 sent again, 0 polled." in capsys.readouterr().out
    call.refresh_from_db()
    assert call.status == Call.Status.SENT
    assert len(sandbox.requests_for("voiceotp")) == 1
