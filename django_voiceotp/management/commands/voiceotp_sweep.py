"""voiceotp_sweep: run the periodic sweeper once, now, as celery beat would."""

from django.core.management.base import BaseCommand

from django_voiceotp.jobs import poll_pending_calls


class Command(BaseCommand):
    help = (
        "Run the sweeper (django_voiceotp.tasks.poll_pending_calls) once: fail pending calls "
        "whose passcode is too old, send pending calls whose send task was lost, poll sent calls "
        "that are due. In eager mode the sends and polls run here; otherwise the workers run them."
    )

    def handle(self, *args, **options):
        # The sweep runs in this process; the sends and polls it starts go to the queue, exactly
        # as when beat runs the task.
        counts = poll_pending_calls()
        self.stdout.write(
            f"Swept: {counts['expired']} call(s) expired, {counts['sent']} sent again, "
            f"{counts['polled']} polled."
        )
