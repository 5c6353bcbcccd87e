"""voiceotp_send: place a voice OTP call from the command line."""

import secrets

from django.core.management.base import BaseCommand, CommandError

from django_voiceotp import send_otp
from django_voiceotp.exceptions import VoiceOTPError


class Command(BaseCommand):
    help = "Call PHONE and read it a passcode (random unless --otp is given; never printed)."

    def add_arguments(self, parser):
        parser.add_argument("phone_number")
        parser.add_argument("--otp", help="The passcode to read; a random 6-digit one by default.")
        parser.add_argument("--campaign", help="Provider campaign id; DEFAULT_CAMPAIGN by default.")

    def handle(self, *args, phone_number, otp, campaign, **options):
        otp = otp or f"{secrets.randbelow(10**6):06d}"
        try:
            call = send_otp(phone_number, otp, campaign=campaign)
        except VoiceOTPError as err:
            raise CommandError(str(err)) from err
        call.refresh_from_db()
        self.stdout.write(f"Call {call.pk} to {call.masked_phone_number}: {call.status}")
