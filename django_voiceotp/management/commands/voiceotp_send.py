"""voiceotp_send: place a voice OTP call from the command line."""

import secrets

from django.core.management.base import BaseCommand, CommandError

from django_voiceotp import limits, send_otp, testnumbers
from django_voiceotp.conf import voiceotp_settings
from django_voiceotp.exceptions import VoiceOTPError
from django_voiceotp.models import Campaign
from django_voiceotp.sending import resolve_campaign


class Command(BaseCommand):
    help = "Call PHONE and read it a passcode (random unless --otp is given; never printed)."

    def add_arguments(self, parser):
        parser.add_argument("phone_number")
        parser.add_argument("--otp", help="The passcode to read; a random 6-digit one by default.")
        parser.add_argument(
            "--campaign",
            help="Provider campaign id: one in the admin's campaigns, or DEFAULT_CAMPAIGN (the "
            "default).",
        )
        parser.add_argument(
            "--create",
            action="store_true",
            help="Create the --campaign if it is not known yet (it must exist at the provider).",
        )

    def handle(self, *args, phone_number, otp, campaign, create, **options):
        if campaign and not create and not self._is_known(campaign):
            # send_otp would create it, and the provider would refuse the call with a 404:
            # a typo on the command line should not cost a campaign and a failed call.
            raise CommandError(
                f"Unknown campaign {campaign!r}: it is not among the campaigns and is not "
                "DEFAULT_CAMPAIGN. Check the id, or pass --create to add it."
            )
        otp = otp or f"{secrets.randbelow(10**6):06d}"
        try:
            # Through the gate, as every door: a call from the command line costs what any
            # other does, so the destination policy, the number's limits and the site's budget
            # apply (no client is asking).
            with limits.admit(phone_number) as allowed:
                if allowed.is_test:
                    # A test number is never called, whoever asks: its fixed code stands.
                    call = testnumbers.create_test_call(
                        allowed, campaign=resolve_campaign(campaign)
                    )
                    self.stdout.write(
                        f"Call {call.pk} to {call.masked_phone_number}: a test number, no call "
                        "placed (its code is the one in TEST_NUMBERS)"
                    )
                    return
                call = send_otp(allowed, otp, campaign=campaign)
        except VoiceOTPError as err:
            raise CommandError(str(err)) from err
        call.refresh_from_db()
        self.stdout.write(f"Call {call.pk} to {call.masked_phone_number}: {call.status}")

    @staticmethod
    def _is_known(campaign_id: str) -> bool:
        return (
            campaign_id == voiceotp_settings.DEFAULT_CAMPAIGN
            or Campaign.objects.filter(campaign_id=campaign_id).exists()
        )
