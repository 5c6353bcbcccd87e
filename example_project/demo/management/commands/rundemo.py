"""rundemo: migrate, create the demo superuser, serve the example project, check it against the
sandbox, print where to go, keep serving."""

import signal
import subprocess
import sys
import time
import urllib.request
from urllib.parse import urlparse

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from demo import superuser

STARTUP_TIMEOUT = 30
#: Seconds between two runs of the sweeper. In eager mode no celery beat runs, so the demo sweeps
#: itself: redials come due, calls without a callback are polled, lost sends go out.
SWEEP_INTERVAL = 5


class Command(BaseCommand):
    help = "Run the demo at settings.DEMO_URL against the sandbox provider mounted in it."

    def handle(self, *args, **options):
        call_command("migrate", interactive=False, verbosity=0)
        superuser.ensure_demo_superuser()
        address = urlparse(settings.DEMO_URL).netloc
        server = subprocess.Popen([sys.executable, "manage.py", "runserver", "--noreload", address])
        # Stopped by a signal other than Ctrl-C (kill, a test's teardown): stop the server too.
        signal.signal(signal.SIGTERM, lambda *args: sys.exit(0))
        try:
            self._wait_until_serving(f"{settings.DEMO_URL}/sandbox/_sandbox/calls", server)
            call_command("voiceotp_check", stdout=self.stdout, stderr=self.stderr)
            self.stdout.write(
                self.style.SUCCESS(
                    f"\nThe demo is running at {settings.DEMO_URL}/ (Ctrl-C stops it)."
                )
            )
            self.stdout.write(
                f"The admin is at {settings.DEMO_URL}/admin/ "
                f"(user {superuser.USERNAME}, password {superuser.PASSWORD})."
            )
            while server.poll() is None:
                time.sleep(SWEEP_INTERVAL)
                if settings.CELERY_TASK_ALWAYS_EAGER:
                    self._sweep()
        except KeyboardInterrupt:
            pass
        finally:
            server.terminate()
            server.wait(timeout=10)

    def _sweep(self):
        from django_voiceotp.tasks import poll_pending_calls

        try:
            poll_pending_calls()
        except Exception as err:  # noqa: BLE001 - the demo keeps serving; the next sweep retries
            self.stderr.write(f"The sweeper failed ({type(err).__name__}); retrying.")

    def _wait_until_serving(self, url, server):
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while time.monotonic() < deadline:
            if server.poll() is not None:
                raise CommandError("The demo server exited while starting.")
            try:
                urllib.request.urlopen(url, timeout=1)
                return
            except OSError:
                time.sleep(0.2)
        raise CommandError(f"The demo server did not answer at {url}.")
