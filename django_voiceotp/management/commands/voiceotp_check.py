"""voiceotp_check: run the app's system checks, say what is configured, and get a token."""

import json
from collections.abc import Callable

from django.core import checks
from django.core.cache import caches
from django.core.cache.backends.db import DatabaseCache
from django.core.management.base import BaseCommand, CommandError
from django.urls import NoReverseMatch, reverse

from django_voiceotp import breaker, dispatch, health
from django_voiceotp.checks import celery_setup
from django_voiceotp.conf import voiceotp_settings
from django_voiceotp.exceptions import VoiceOTPError
from django_voiceotp.providers import get_provider

MARKS = {checks.INFO: "i", checks.WARNING: "!", checks.ERROR: "✗", checks.CRITICAL: "✗"}
LEVEL_NAMES = {checks.DEBUG: "debug", checks.INFO: "info", checks.WARNING: "warning"}
FINDING_MARKS = {health.OK: "✓", health.WARNING: "!", health.FAILED: "✗"}
#: What a failed finding means, said once when the command exits.
FAILURES = {
    "provider": "Could not obtain an access token from the provider.",
    "sweeper": "Calls are not being sent in time: see above.",
    "backlog": "Calls are not being sent in time: see above.",
    "spending": "The site's budget refuses calls, or cannot be read: see above.",
}


class Command(BaseCommand):
    help = (
        "Check the VOICEOTP settings, the callback URL and the Celery set-up, obtain an access "
        "token from the provider, and report the sweeper's last run, calls pending past "
        "PENDING_GRACE and the site's budget. Exits non-zero when anything is wrong."
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

        provider = get_provider()
        self.stdout.write(f"✓ settings: API_URL is {provider.option('API_URL')}")
        if voiceotp_settings.PROVIDERS is not None:
            self.stdout.write(f"✓ provider: {provider.name} ({type(provider).__name__})")
        campaign = provider.option("DEFAULT_CAMPAIGN")
        self.stdout.write(f"✓ campaign: {campaign or 'none by default (send_otp must name one)'}")
        self.stdout.write(self._callbacks())
        self.stdout.write(self._queue())
        self._breakers()

        findings = self._findings()
        for finding in findings:
            stream = self.stderr if finding.failed else self.stdout
            line = f"{FINDING_MARKS[finding.status]} {finding.name}: {finding.detail}"
            token_obtained = finding.name == "provider" and not finding.failed
            stream.write(self.style.SUCCESS(line) if token_obtained else line)
        failed = {finding.name for finding in findings if finding.failed}
        if failed:
            # In FAILURES' order: the provider's first, since without a token no call goes out.
            said = dict.fromkeys(FAILURES[name] for name in FAILURES if name in failed)
            raise CommandError(" ".join(said))

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
        findings = [] if serious else self._findings()
        report["findings"] = {
            finding.name: {"status": finding.status, "detail": finding.detail}
            for finding in findings
        }
        report["ok"] = not serious and not any(finding.failed for finding in findings)
        self.stdout.write(json.dumps(report, ensure_ascii=False, indent=2))
        if not report["ok"]:
            raise CommandError("The voiceotp check found problems.")

    def _findings(self) -> list[health.Finding]:
        """The sweeper, the backlog, the site's budget, then the provider: what each probe of
        the health endpoint reports, and the one token request this command makes."""
        return [
            _guarded("sweeper", health.check_sweeper, voiceotp_settings.TOKEN_CACHE_ALIAS),
            _guarded("backlog", health.check_backlog),
            _guarded("spending", health.check_spending, voiceotp_settings.LIMITS_CACHE_ALIAS),
            _guarded("provider", self._provider, voiceotp_settings.TOKEN_CACHE_ALIAS),
        ]

    def _provider(self) -> health.Finding:
        """A token round trip: the one request for a token this command makes, on purpose."""
        try:
            identity = get_provider().authenticate()
        except VoiceOTPError as err:
            return health.Finding("provider", health.FAILED, str(err))
        return health.Finding("provider", health.OK, f"access token obtained for {identity}")

    def _breakers(self) -> None:
        """A line per provider: its circuit breaker's state, shared by every process."""
        try:
            states = breaker.states()
        except Exception as err:  # noqa: BLE001 - a cache that does not answer is a line too
            self.stderr.write(f"✗ circuit breakers: could not be read: {type(err).__name__}: {err}")
            return
        for state in states:
            mark = "!" if state.is_open else "✓"
            self.stdout.write(f"{mark} {health.describe_breaker(state)}")

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

    def _queue(self) -> str:
        name = voiceotp_settings.DISPATCHER
        if name == "celery":
            return self._celery()
        dispatcher = dispatch.get_dispatcher()  # the settings checks passed: it loads
        mode = "inline (jobs run in the process that asks)" if dispatcher.runs_inline else "worker"
        delays = "" if dispatcher.supports_delay else "; delayed jobs are left to the sweeper"
        queue = "Django's tasks framework" if name == "django" else name
        return f"✓ queue: {queue}, {mode}{delays}; run the sweeper with voiceotp_sweep --every"

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


def _guarded(
    name: str, check: Callable[[], health.Finding], cache_alias: str | None = None
) -> health.Finding:
    """``check()``, or a failed finding that says what broke it.

    This command is what a person runs to find out what is wrong, so whatever a check meets (a
    database cache whose table was never created, a Redis that does not answer) is a line of its
    report, not a traceback that hides the other findings.
    """
    try:
        return check()
    except Exception as err:  # noqa: BLE001 - reported, with its kind, as a failed finding
        detail = f"could not be checked: {type(err).__name__}: {err}"
        if cache_alias is not None and _is_database_cache(cache_alias):
            detail += (
                f" (the {cache_alias!r} cache is a database cache: its table is created by "
                "python manage.py createcachetable)"
            )
        return health.Finding(name, health.FAILED, detail)


def _is_database_cache(alias: str) -> bool:
    try:
        return isinstance(caches[alias], DatabaseCache)
    except Exception:  # noqa: BLE001 - an alias that is not configured: check E006 names it
        return False
