"""voiceotp_purge: delete old calls and callback events; phone numbers are personal data."""

from argparse import ArgumentTypeError
from datetime import timedelta

from django.core.management.base import BaseCommand
from django.utils import timezone

from django_voiceotp.db import write_transaction
from django_voiceotp.models import Call, CallbackEvent, Verification

DEFAULT_BATCH_SIZE = 1000


def positive_int(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number < 1:
        raise ArgumentTypeError(f"expected a whole number of at least 1, not {value!r}")
    return number


class Command(BaseCommand):
    help = (
        "Delete calls and verifications created, and callback events received, more than DAYS "
        "days ago, in batches, and report how many."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--older-than",
            type=positive_int,
            required=True,
            metavar="DAYS",
            help="Delete what is older than this many days (at least 1).",
        )
        parser.add_argument(
            "--batch-size",
            type=positive_int,
            default=DEFAULT_BATCH_SIZE,
            help=f"Rows deleted per transaction (default {DEFAULT_BATCH_SIZE}).",
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="Count what would be deleted; delete nothing."
        )

    def handle(self, *args, older_than, batch_size, dry_run, **options):
        cutoff = timezone.now() - timedelta(days=older_than)
        calls = Call.objects.filter(created_at__lt=cutoff)
        # An old call's events go with it, however recent; so do old events of no call.
        events = CallbackEvent.objects.filter(received_at__lt=cutoff)
        # A verification holds a phone number too, and outlives its use by minutes.
        verifications = Verification.objects.filter(created_at__lt=cutoff)
        if dry_run:
            call_count = calls.count()
            event_count = (events | CallbackEvent.objects.filter(call__in=calls)).count()
            self.stdout.write(
                f"Would delete {call_count} call(s) and {event_count} callback event(s) "
                f"older than {older_than} day(s)."
            )
            self.stdout.write(
                f"Would delete {verifications.count()} verification(s) "
                f"older than {older_than} day(s)."
            )
            return

        deleted_calls = deleted_events = 0
        # Small transactions: a purge of millions of rows neither locks the tables for long
        # nor holds one huge transaction.
        while batch := list(calls.values_list("pk", flat=True)[:batch_size]):
            with write_transaction():
                deleted_events += CallbackEvent.objects.filter(call_id__in=batch).delete()[0]
                deleted_calls += Call.objects.filter(pk__in=batch).delete()[0]
        while batch := list(events.values_list("pk", flat=True)[:batch_size]):
            deleted_events += CallbackEvent.objects.filter(pk__in=batch).delete()[0]
        self.stdout.write(
            self.style.SUCCESS(
                f"Deleted {deleted_calls} call(s) and {deleted_events} callback event(s) "
                f"older than {older_than} day(s)."
            )
        )
        deleted_verifications = 0
        while batch := list(verifications.values_list("pk", flat=True)[:batch_size]):
            deleted_verifications += Verification.objects.filter(pk__in=batch).delete()[0]
        self.stdout.write(
            self.style.SUCCESS(
                f"Deleted {deleted_verifications} verification(s) older than {older_than} day(s)."
            )
        )
