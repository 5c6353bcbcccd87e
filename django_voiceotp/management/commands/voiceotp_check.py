"""voiceotp_check: run the app's system checks, say what is configured, and get a token."""

from django.core import checks
from django.core.management.base import BaseCommand, CommandError
from django.urls import NoReverseMatch, reverse

from django_voiceotp.checks import celery_setup
from django_voiceotp.client import ProviderClient
from django_voiceotp.conf import voiceotp_settings
from django_voiceotp.exceptions import VoiceOTPError

MARKS = {checks.INFO: "i", checks.WARNING: "!", checks.ERROR: "✗", checks.CRITICAL: "✗"}


class Command(BaseCommand):
    help = (
        "Check the VOICEOTP settings, the callback URL and the Celery set-up, then obtain an "
        "access token from the provider. Exits non-zero when anything is wrong."
    )
    # It runs the checks itself and reports them its own way, not twice.
    requires_system_checks: list = []

    def handle(self, *args, **options):
        messages = [
            message
            for message in checks.run_checks(include_deployment_checks=False)
            if (message.id or "").startswith("django_voiceotp.")
        ]
        for message in messages:
            stream = self.stderr if message.is_serious() else self.stdout
            stream.write(f"{MARKS.get(message.level, '?')} {message.id}: {message.msg}")
            if message.hint:
                stream.write(f"  hint: {message.hint}")
        if any(message.is_serious() for message in messages):
            raise CommandError("The VOICEOTP settings have errors.")

        self.stdout.write(f"✓ settings: API_URL is {voiceotp_settings.API_URL}")
        campaign = voiceotp_settings.DEFAULT_CAMPAIGN
        self.stdout.write(f"✓ campaign: {campaign or 'none by default (send_otp must name one)'}")
        self.stdout.write(self._callbacks())
        self.stdout.write(self._celery())

        try:
            token = ProviderClient().generate_access_token()
        except VoiceOTPError as err:
            self.stderr.write(f"✗ provider: {err}")
            raise CommandError("Could not obtain an access token from the provider.") from err
        self.stdout.write(
            self.style.SUCCESS(f"✓ provider: access token obtained for user {token.user_id}")
        )

    def _callbacks(self) -> str:
        base = voiceotp_settings.CALLBACK_BASE_URL
        if not base:
            return "- callbacks: CALLBACK_BASE_URL is not set; results are found by polling only"
        try:
            path = reverse("django_voiceotp:callback", kwargs={"token": "TOKEN"})
        except NoReverseMatch:  # reported above as django_voiceotp.E007
            return "✗ callbacks: django_voiceotp.urls is not included"
        # The token of a real call is signed for it; the placeholder only shows the shape.
        return f"✓ callbacks: the provider posts results to {base.rstrip('/')}{path}"

    def _celery(self) -> str:
        setup = celery_setup()
        if not setup.from_django:  # reported above as django_voiceotp.W003
            return (
                f"! Celery: the app in use ({setup.app_name!r}) is not configured from Django's "
                "settings; CELERY_* settings do not apply"
            )
        mode = "eager (tasks run in the process that asks)" if setup.eager else "worker"
        if setup.sweeper_schedule is None:
            sweeper = "no sweeper in the beat schedule"
        else:
            sweeper = f"sweeper every {setup.sweeper_schedule} s"
        return f"✓ Celery: {mode}; {sweeper}"
