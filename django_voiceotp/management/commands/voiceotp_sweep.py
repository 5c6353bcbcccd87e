"""voiceotp_sweep: run the periodic sweeper once, now, as celery beat would; or, with
``--every SECONDS``, in a loop of its own, for projects that run no scheduler."""

from __future__ import annotations

import logging
import math
import signal
import time

from django.core.management.base import BaseCommand, CommandError
from django.db import close_old_connections

from django_voiceotp.jobs import poll_pending_calls as sweep

logger = logging.getLogger("django_voiceotp")

#: The signals that end the loop: what a service manager, a container runtime or Ctrl+C sends.
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)
#: The shortest interval taken: a sweep a second already finds lost work in time, and a shorter
#: one would keep the database busy for nothing.
MIN_INTERVAL = 1
#: The longest interval taken: a sweeper a day apart is already too rare to find lost sends.
MAX_INTERVAL = 24 * 3600


class _Stop(BaseException):
    """Raised by the signal handler between sweeps (in the sleep), to end the loop at once.

    A BaseException, so that no ``except Exception`` on its way can swallow it."""


class Command(BaseCommand):
    help = (
        "Run the sweeper (django_voiceotp.jobs.poll_pending_calls) once: fail pending calls "
        "whose passcode is too old, send pending calls whose send task was lost, poll sent calls "
        "that are due. In eager mode the sends and polls run here; otherwise the workers run them. "
        "With --every SECONDS it runs again and again, SECONDS apart, until SIGTERM or SIGINT."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--every",
            metavar="SECONDS",
            help="Sweep in a loop, a sweep every SECONDS (1 to 86400), until stopped; "
            "SIGTERM or SIGINT ends the loop once the sweep under way has finished.",
        )

    def handle(self, *args, **options):
        if options["every"] is None:
            self._sweep_once()
            return
        interval = _interval(options["every"])
        self._sweeping = False
        self._stopping = False
        previous = {number: signal.signal(number, self._on_stop_signal) for number in STOP_SIGNALS}
        try:
            self._loop(interval)
        except _Stop:
            pass
        finally:
            for number, handler in previous.items():
                signal.signal(number, handler)
        self.stdout.write("Sweeper stopped.")

    def _loop(self, interval: float) -> None:
        while True:
            started = time.monotonic()
            self._sweeping = True
            try:
                self._sweep_once()
            except Exception:  # noqa: BLE001 - a database or cache that is away comes back
                logger.exception("The sweep failed; the next one runs in %s s.", interval)
            finally:
                # A process that lives for days must not hold a connection the server dropped.
                close_old_connections()
                self._sweeping = False  # after the close: a stop signal does not cut it short
            if self._stopping:
                return
            time.sleep(max(0.0, interval - (time.monotonic() - started)))

    def _on_stop_signal(self, number, frame) -> None:
        self._stopping = True
        if not self._sweeping:
            # Asleep between sweeps: leave now. A sweep under way is left to finish.
            raise _Stop

    def _sweep_once(self) -> None:
        # The sweep runs in this process; the sends and polls it starts go to the queue, exactly
        # as when beat runs the task.
        counts = sweep()
        self.stdout.write(
            f"Swept: {counts['expired']} call(s) expired, {counts['sent']} sent again, "
            f"{counts['polled']} polled."
        )
        # A line per sweep as it happens, also when the output is a file or a pipe (a service).
        self.stdout.flush()


def _interval(value: str) -> float:
    try:
        seconds = float(value)
    except ValueError:
        seconds = math.nan
    if not (math.isfinite(seconds) and MIN_INTERVAL <= seconds <= MAX_INTERVAL):
        raise CommandError(
            f"--every takes a number of seconds from {MIN_INTERVAL} to {MAX_INTERVAL}, "
            f"not {value!r}."
        )
    return seconds
