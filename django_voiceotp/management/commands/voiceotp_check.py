"""voiceotp_check: validate the settings and make a token round trip to the provider."""

from django.core.management.base import BaseCommand, CommandError

from django_voiceotp.checks import check_settings
from django_voiceotp.client import ProviderClient
from django_voiceotp.conf import voiceotp_settings
from django_voiceotp.exceptions import VoiceOTPError


class Command(BaseCommand):
    help = "Check the VOICEOTP settings and obtain an access token from the provider."

    def handle(self, *args, **options):
        problems = [message for message in check_settings() if message.is_serious()]
        for message in problems:
            self.stderr.write(f"✗ settings: {message.msg}")
        if problems:
            raise CommandError("The VOICEOTP settings have errors.")
        self.stdout.write(f"✓ settings: API_URL is {voiceotp_settings.API_URL}")

        try:
            token = ProviderClient().generate_access_token()
        except VoiceOTPError as err:
            self.stderr.write(f"✗ provider: {err}")
            raise CommandError("Could not obtain an access token from the provider.") from err
        self.stdout.write(
            self.style.SUCCESS(f"✓ provider: access token obtained for user {token.user_id}")
        )
