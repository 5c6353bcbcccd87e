"""voiceotp_check: run the app's system checks, say what is configured, and get a token."""

import json

from django.core import checks
from django.core.management.base import BaseCommand, CommandError
from django.urls import NoReverseMatch, reverse

from django_voiceotp import health
from django_voiceotp.checks import celery_setup
from django_voiceotp.client import ProviderClient
from django_voiceotp.conf import voiceotp_settings
from django_voiceotp.exceptions import VoiceOTPError

MARKS = {checks.INFO: "i", checks.WARNING: "!", checks.ERROR: "✗", checks.CRITICAL: "✗"}
LEVEL_NAMES = {checks.DEBUG: "debug", checks.INFO: "info", checks.WARNING: "warning"}
FINDING_MARKS = {health.OK: "✓", health.WARNING: "!", health.FAILED: "✗"}


class Command(BaseCommand):
    help = (
        "Check the VOICEOTP settings, the callback URL and the Celery set-up, obtain an access "
        "token from the provider, and report the sweeper's last run and calls pending past "
        "PENDING_GRACE. Exits non-zero when anything is wrong."
    )
    # It runs the checks itself and reports them its own way, not twice.
    requires_system_checks: list = []

    def add_arguments(self, parser):
        parser.add_argument(
            "--json",
            action="store_true",
            help="Print one JSON object (for scripts) instead of lines.",
        )

    def handle(self, *args, **options):
        messages = [
            message
            for message in checks.run_checks(include_deployment_checks=False)
            if (message.id or "").startswith("django_voiceotp.")
        ]
        if options["json"]:
            return self._handle_json(messages)
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

        findings = [health.check_sweeper(), health.check_backlog()]
        for finding in findings:
            stream = self.stderr if finding.failed else self.stdout
            stream.write(f"{FINDING_MARKS[finding.status]} {finding.name}: {finding.detail}")

        provider = self._provider()
        stream = self.stderr if provider.failed else self.stdout
        line = f"{FINDING_MARKS[provider.status]} provider: {provider.detail}"
        stream.write(self.style.SUCCESS(line) if not provider.failed else line)
        if provider.failed:
            raise CommandError("Could not obtain an access token from the provider.")
        if any(finding.failed for finding in findings):
            raise CommandError("Calls are not being sent in time: see above.")

    def _handle_json(self, messages):
        report = {
            "checks": [
                {
                    "id": message.id,
                    "level": LEVEL_NAMES.get(message.level, "error"),
                    "message": message.msg,
                }
                for message in messages
            ],
        }
        serious = any(message.is_serious() for message in messages)
        findings = (
            [] if serious else [self._provider(), health.check_sweeper(), health.check_backlog()]
        )
        report["findings"] = {
            finding.name: {"status": finding.status, "detail": finding.detail}
            for finding in findings
        }
        report["ok"] = not serious and not any(finding.failed for finding in findings)
        self.stdout.write(json.dumps(report, ensure_ascii=False, indent=2))
        if not report["ok"]:
            raise CommandError("The voiceotp check found problems.")

    def _provider(self) -> health.Finding:
        """A token round trip: the one request for a token this command makes, on purpose."""
        try:
            token = ProviderClient().generate_access_token()
        except VoiceOTPError as err:
            return health.Finding("provider", health.FAILED, str(err))
        return health.Finding(
            "provider", health.OK, f"access token obtained for user {token.user_id}"
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
