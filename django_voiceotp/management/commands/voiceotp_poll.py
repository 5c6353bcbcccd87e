"""voiceotp_poll: ask the provider now for the result of every call still awaiting one."""

from django.core.management.base import BaseCommand

from django_voiceotp import results
from django_voiceotp.models import Call


class Command(BaseCommand):
    help = "Poll the provider now for every call that was sent and has no result yet."

    def handle(self, *args, **options):
        call_ids = list(Call.objects.awaiting_result().values_list("pk", flat=True))
        for call_id in call_ids:
            results.poll_call(call_id, force=True)
        counts = dict.fromkeys(Call.Status.values, 0)
        for status in Call.objects.filter(pk__in=call_ids).values_list("status", flat=True):
            counts[status] += 1
        summary = ", ".join(f"{count} {status}" for status, count in counts.items() if count)
        self.stdout.write(f"Polled {len(call_ids)} call(s){': ' + summary if summary else '.'}")
