"""Django system checks for the VOICEOTP settings."""

from __future__ import annotations

import os
from dataclasses import dataclass
from numbers import Real
from urllib.parse import urlparse
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
from django.conf import settings
from django.core.checks import Error, Info, Tags, Warning, register
from django.db import connections
from django.urls import NoReverseMatch, reverse

from . import limits
from .callbacks import CALLBACK_FINAL_GRACE_MAX, is_valid_final_grace
from .conf import AUTH_SCHEMES, PHONE_FORMATS, REQUIRED, SETTINGS_NAME, voiceotp_settings
from .db import LOCKING_MODES
from .exceptions import ImproperlyConfigured, InvalidOTP, InvalidPhoneNumber
from .phone import validate_otp

SWEEPER_TASK = "django_voiceotp.tasks.poll_pending_calls"
#: What a project's celery.py passes to config_from_object() to read the CELERY_* settings.
DJANGO_CONFIG_SOURCE = "django.conf:settings"

#: Settings that must be whole numbers, with the least each may be.
WHOLE_NUMBERS = {
    "OTP_MIN_LENGTH": 1,
    "OTP_MAX_LENGTH": 1,
    "CALLBACK_MAX_BODY_SIZE": 1,
    "SEND_MAX_RETRIES": 0,
    "TOKEN_REFRESH_MARGIN": 0,
}
#: Settings that must be numbers of seconds above zero.
DURATIONS = (
    "SEND_RETRY_BACKOFF",
    "SEND_RETRY_BACKOFF_MAX",
    "OTP_MAX_AGE",
    "PENDING_GRACE",
    "SWEEPER_MAX_AGE",
)


def _is_http_url(value: object) -> bool:
    if not isinstance(value, str):
        return False
    parsed = urlparse(value)
    return parsed.scheme in ("http", "https") and bool(parsed.netloc)


@register(Tags.compatibility)
def check_settings(app_configs=None, **kwargs):
    try:
        voiceotp_settings.user_settings  # noqa: B018 - reading it validates its type
    except ImproperlyConfigured as err:
        return [Error(str(err), id="django_voiceotp.E001")]
    errors = []
    for key in REQUIRED:
        if not getattr(voiceotp_settings, key):
            errors.append(
                Error(
                    f"{SETTINGS_NAME}[{key!r}] is required and not set.",
                    hint="See https://django-voiceotp.readthedocs.io/en/latest/settings.html.",
                    id="django_voiceotp.E002",
                )
            )
    secret_key = voiceotp_settings.SECRET_KEY
    if secret_key and not isinstance(secret_key, str):
        errors.append(_malformed("SECRET_KEY", "the secret key the provider issued, a string"))
    api_url = voiceotp_settings.API_URL
    if api_url and not _is_http_url(api_url):
        errors.append(
            Error(f"{SETTINGS_NAME}['API_URL'] must be an http(s) URL.", id="django_voiceotp.E003")
        )
    if voiceotp_settings.AUTH_SCHEME not in AUTH_SCHEMES:
        errors.append(
            Error(
                f"{SETTINGS_NAME}['AUTH_SCHEME'] must be one of {AUTH_SCHEMES}.",
                id="django_voiceotp.E004",
            )
        )
    region = voiceotp_settings.PHONE_REGION
    if not (isinstance(region, str) and region in phonenumbers.SUPPORTED_REGIONS):
        errors.append(_malformed("PHONE_REGION", "a region code of phonenumbers such as 'VN'"))
    if voiceotp_settings.PHONE_FORMAT not in PHONE_FORMATS:
        errors.append(
            Error(
                f"{SETTINGS_NAME}['PHONE_FORMAT'] must be one of {PHONE_FORMATS}.",
                id="django_voiceotp.E005",
            )
        )
    for key in voiceotp_settings.unknown_keys():
        errors.append(
            Warning(
                f"{SETTINGS_NAME}[{key!r}] is not a setting of django-voiceotp; it is ignored.",
                id="django_voiceotp.W001",
            )
        )
    return errors


def _is_cache_alias(value: object) -> bool:
    return isinstance(value, str) and value in settings.CACHES


def _is_number(value: object, *, above: float) -> bool:
    return isinstance(value, Real) and not isinstance(value, bool) and float(value) > above


def _malformed(key: str, expected: str) -> Error:
    return Error(
        f"{SETTINGS_NAME}[{key!r}] must be {expected}; it is {getattr(voiceotp_settings, key)!r}.",
        id="django_voiceotp.E006",
    )


@register(Tags.compatibility)
def check_setting_values(app_configs=None, **kwargs):
    """Values of the right type and range, so a typo fails at start-up, not at the first call."""
    try:
        voiceotp_settings.user_settings  # noqa: B018 - check_settings reports a non-dict
    except ImproperlyConfigured:
        return []
    errors = []
    base_url = voiceotp_settings.CALLBACK_BASE_URL
    # "" is an environment variable left unset: with DEBUG on, polling alone, as None is; with
    # DEBUG off, check E041 says so. The example is not a documentation domain, which E041 refuses.
    if base_url not in (None, "") and not _is_http_url(base_url):
        errors.append(_malformed("CALLBACK_BASE_URL", "an http(s) URL such as https://otp.shop.vn"))
    for key, least in WHOLE_NUMBERS.items():
        value = getattr(voiceotp_settings, key)
        if not isinstance(value, int) or isinstance(value, bool) or value < least:
            errors.append(_malformed(key, f"a whole number of at least {least}"))
    low, high = voiceotp_settings.OTP_MIN_LENGTH, voiceotp_settings.OTP_MAX_LENGTH
    if isinstance(low, int) and isinstance(high, int) and low > high:
        errors.append(_malformed("OTP_MIN_LENGTH", f"at most OTP_MAX_LENGTH ({high})"))
    for key in DURATIONS:
        if not _is_number(getattr(voiceotp_settings, key), above=0):
            errors.append(_malformed(key, "a number of seconds above 0"))
    token_max_age = voiceotp_settings.CALLBACK_TOKEN_MAX_AGE
    if token_max_age is not None and not _is_number(token_max_age, above=0):
        errors.append(_malformed("CALLBACK_TOKEN_MAX_AGE", "a number of seconds above 0, or None"))
    if not is_valid_final_grace(voiceotp_settings.CALLBACK_FINAL_GRACE):
        errors.append(
            _malformed(
                "CALLBACK_FINAL_GRACE",
                f"a number of seconds from 0 to {CALLBACK_FINAL_GRACE_MAX} (30 days)",
            )
        )
    timeout = voiceotp_settings.TIMEOUT
    parts = timeout if isinstance(timeout, (tuple, list)) else (timeout,)
    if len(parts) not in (1, 2) or not all(_is_number(part, above=0) for part in parts):
        errors.append(_malformed("TIMEOUT", "seconds above 0, or a (connect, read) pair of them"))
    schedule = voiceotp_settings.POLL_SCHEDULE
    if not (
        isinstance(schedule, (tuple, list))
        and schedule
        and all(_is_number(point, above=0) for point in schedule)
        and list(schedule) == sorted(set(schedule))
    ):
        errors.append(_malformed("POLL_SCHEDULE", "increasing numbers of seconds above 0"))
    try:
        ZoneInfo(voiceotp_settings.PROVIDER_TIMEZONE)
    except (ZoneInfoNotFoundError, TypeError, ValueError):
        errors.append(_malformed("PROVIDER_TIMEZONE", "a time zone name such as Asia/Ho_Chi_Minh"))
    campaign = voiceotp_settings.DEFAULT_CAMPAIGN
    if campaign is not None and not (isinstance(campaign, str) and campaign):
        errors.append(_malformed("DEFAULT_CAMPAIGN", "a campaign id, or None"))
    if not _is_cache_alias(voiceotp_settings.TOKEN_CACHE_ALIAS):
        errors.append(_malformed("TOKEN_CACHE_ALIAS", "the alias of a cache in CACHES"))
    if not (isinstance(voiceotp_settings.DISPATCHER, str) and voiceotp_settings.DISPATCHER):
        errors.append(_malformed("DISPATCHER", '"celery", "django", or a dotted path'))
    return errors


@register(Tags.urls)
def check_callback_urls(app_configs=None, **kwargs):
    """With CALLBACK_BASE_URL set, the callback view must be reachable, or no result comes back."""
    try:
        if not voiceotp_settings.CALLBACK_BASE_URL:
            return []
    except ImproperlyConfigured:
        return []
    try:
        reverse("django_voiceotp:callback", kwargs={"token": "check"})
    except NoReverseMatch:
        return [
            Error(
                f"{SETTINGS_NAME}['CALLBACK_BASE_URL'] is set but django_voiceotp.urls is not "
                "included: the provider's callbacks have nowhere to go.",
                hint='Add path("voiceotp/", include("django_voiceotp.urls")) to your URLconf, '
                "or set CALLBACK_BASE_URL to None to rely on polling alone.",
                id="django_voiceotp.E007",
            )
        ]
    return []


@dataclass(frozen=True)
class CelerySetup:
    """What the Celery app that runs the app's tasks is configured with: read once, so the checks
    and voiceotp_check tell the same story."""

    app_name: str
    #: False when the app does not read Django's settings (no celery.py, or one never imported):
    #: then CELERY_* settings, eager mode and the beat schedule among them, do not apply.
    from_django: bool
    eager: bool
    #: The sweeper's interval in the beat schedule, or None when it is not scheduled.
    sweeper_schedule: object | None


def _reads_django_settings(app) -> bool:
    # Celery has no public accessor for the source given to config_from_object().
    source = getattr(app, "_config_source", None)
    return source is settings or (isinstance(source, str) and source == DJANGO_CONFIG_SOURCE)


def celery_setup() -> CelerySetup:
    """The configuration of the Celery app ``send_otp`` enqueues on (Celery's current app)."""
    from .dispatch.celery import celery_app

    app = celery_app()
    conf = app.conf
    schedule = conf.beat_schedule or {}
    sweeper = [entry for entry in schedule.values() if entry.get("task") == SWEEPER_TASK]
    return CelerySetup(
        app_name=app.main or "default",
        from_django=_reads_django_settings(app),
        eager=bool(conf.task_always_eager),
        sweeper_schedule=sweeper[0].get("schedule") if sweeper else None,
    )


@register()
def check_celery(app_configs=None, **kwargs):
    """A Celery app that ignores Django's settings, eager mode outside development, and a sweeper
    nobody schedules, are easy to miss."""
    setup = celery_setup()
    if not setup.from_django:
        # Eager mode and the beat schedule are then Celery's defaults, not the project's: the
        # other two checks would report on settings that do not apply.
        return [
            Warning(
                f"The Celery app in use ({setup.app_name!r}) is not configured from Django's "
                "settings: CELERY_* settings (the broker, eager mode, the beat schedule) do not "
                "apply, so calls may never leave 'pending'.",
                hint="Create your project's celery.py with "
                'app.config_from_object("django.conf:settings", namespace="CELERY") and import '
                "it in the project package's __init__.py (see the README's quickstart). If "
                "the app is configured another way on purpose, silence this check with "
                'SILENCED_SYSTEM_CHECKS = ["django_voiceotp.W003"].',
                id="django_voiceotp.W003",
            )
        ]
    messages = []
    if setup.eager and not settings.DEBUG:
        messages.append(
            Warning(
                "Celery runs tasks eagerly (CELERY_TASK_ALWAYS_EAGER) in a project with "
                "DEBUG off: every call is placed inside the web request that asked for it.",
                hint="Run a Celery worker and turn eager mode off in production.",
                id="django_voiceotp.W002",
            )
        )
    if setup.sweeper_schedule is None:
        messages.append(
            Info(
                f"No periodic sweeper: {SWEEPER_TASK} is not in the Celery beat schedule, so "
                "lost sends and calls without a callback are never picked up.",
                hint="Add it to CELERY_BEAT_SCHEDULE (see "
                "https://django-voiceotp.readthedocs.io/en/latest/production.html). If you "
                "schedule it another way (django-celery-beat, cron running voiceotp_sweep), "
                "silence this check with "
                'SILENCED_SYSTEM_CHECKS = ["django_voiceotp.I001"].',
                id="django_voiceotp.I001",
            )
        )
    return messages


#: Cache backends that keep counters per process: limits would not hold across processes.
#: (Those whose counters cannot be atomic at all are refused: limits.NON_ATOMIC_CACHES.)
UNSHARED_CACHES = ("django.core.cache.backends.locmem.LocMemCache",)
#: Fewer digits than this are guessed too easily within MAX_ATTEMPTS tries of many codes.
SAFE_CODE_LENGTH = 6


@register(Tags.compatibility)
def check_verification_settings(app_configs=None, **kwargs):
    """The verification and abuse-limit settings, and a cache the limits can be shared through."""
    try:
        voiceotp_settings.user_settings  # noqa: B018 - check_settings reports a non-dict
    except ImproperlyConfigured:
        return []

    def whole(value: object, least: int = 0) -> bool:
        return isinstance(value, int) and not isinstance(value, bool) and value >= least

    messages = []
    for key, least in (("CODE_TTL", 1), ("MAX_ATTEMPTS", 1), ("RESEND_COOLDOWN", 0)):
        if not whole(getattr(voiceotp_settings, key), least):
            messages.append(_malformed(key, f"a whole number of at least {least}"))
    for key in (
        "SENDS_PER_NUMBER_PER_HOUR",
        "SENDS_PER_NUMBER_PER_DAY",
        "SENDS_PER_IP_PER_HOUR",
        "TEST_GUESSES_PER_DAY",
    ):
        value = getattr(voiceotp_settings, key)
        if value is not None and not whole(value):
            messages.append(_malformed(key, "a whole number (0 or None turns the limit off)"))
    length = voiceotp_settings.CODE_LENGTH
    low, high = voiceotp_settings.OTP_MIN_LENGTH, voiceotp_settings.OTP_MAX_LENGTH
    if not (whole(length) and whole(low) and whole(high) and low <= length <= high):
        messages.append(_malformed("CODE_LENGTH", f"a whole number from {low} to {high}"))
    codes = voiceotp_settings.ALLOWED_COUNTRY_CODES
    if codes is not None and not (
        isinstance(codes, (tuple, list, set, frozenset)) and all(whole(code, 1) for code in codes)
    ):
        messages.append(_malformed("ALLOWED_COUNTRY_CODES", "country calling codes such as (84,)"))
    prefixes = voiceotp_settings.DENIED_PREFIXES
    if not (
        isinstance(prefixes, (tuple, list, set, frozenset))
        and all(isinstance(prefix, str) and prefix.startswith("+") for prefix in prefixes)
    ):
        messages.append(_malformed("DENIED_PREFIXES", "E.164 prefixes such as ('+841900',)"))
    header = voiceotp_settings.TRUSTED_PROXY_HEADER
    if header is not None and not (isinstance(header, str) and header):
        messages.append(_malformed("TRUSTED_PROXY_HEADER", "a header name or None"))
    try:
        limits.allowed_number_types()
    except ImproperlyConfigured:
        messages.append(
            _malformed("ALLOWED_NUMBER_TYPES", "names of phonenumbers.PhoneNumberType, or None")
        )
    if whole(length) and length < SAFE_CODE_LENGTH:
        messages.append(
            Warning(
                f"{SETTINGS_NAME}['CODE_LENGTH'] is {length}: a code of fewer than "
                f"{SAFE_CODE_LENGTH} digits is guessed too easily by someone trying "
                f"MAX_ATTEMPTS codes for each of many requests.",
                hint=f"Use {SAFE_CODE_LENGTH} digits or more.",
                id="django_voiceotp.W011",
            )
        )

    alias = voiceotp_settings.LIMITS_CACHE_ALIAS
    if not _is_cache_alias(alias):
        messages.append(_malformed("LIMITS_CACHE_ALIAS", "the alias of a cache in CACHES"))
    elif backend := limits.non_atomic_cache_backend(alias):
        messages.append(
            Error(
                f"The abuse limits count in the {alias!r} cache, a {backend}: its add and incr "
                "are a read then a write (or nothing at all), so concurrent requests all pass "
                "every limit. django-voiceotp refuses to send codes through it.",
                hint="Point LIMITS_CACHE_ALIAS at Redis or Memcached (LocMemCache for a single "
                "process).",
                id="django_voiceotp.E010",
            )
        )
    elif settings.CACHES[alias].get("BACKEND") in UNSHARED_CACHES and not settings.DEBUG:
        messages.append(
            Warning(
                f"The abuse limits count in the {alias!r} cache, a "
                f"{settings.CACHES[alias]['BACKEND'].rsplit('.', 1)[-1]}: each process counts "
                "alone, so with several processes every limit is multiplied, and a restart "
                "forgets them.",
                hint="Point LIMITS_CACHE_ALIAS at a shared cache (Redis or Memcached).",
                id="django_voiceotp.W010",
            )
        )
    return messages


@register(Tags.compatibility)
def check_sqlite_transaction_mode(app_configs=None, **kwargs):
    """On SQLite, the project's own transactions should take the write lock when they begin."""
    messages = []
    for connection in connections.all(initialized_only=False):
        if connection.vendor != "sqlite":
            continue
        mode = (connection.settings_dict.get("OPTIONS") or {}).get("transaction_mode")
        if str(mode).upper() in LOCKING_MODES:
            continue
        messages.append(
            Info(
                f"DATABASES[{connection.alias!r}] is SQLite with deferred transactions: one that "
                "reads before it writes (ATOMIC_REQUESTS, or your transaction.atomic() around "
                'send_otp or request_code) is refused at once with "database is locked" while '
                "another connection writes. django-voiceotp's own transactions take the write "
                "lock first; inside yours they cannot.",
                hint='Add "OPTIONS": {"transaction_mode": "IMMEDIATE"} to this DATABASES entry.',
                id="django_voiceotp.I002",
            )
        )
    return messages


@register(Tags.compatibility)
def check_delivery_settings(app_configs=None, **kwargs):
    """The redial settings' shapes, a FALLBACK_SENDER that cannot be imported, and the console
    sender outside development (it writes every passcode to standard output)."""
    from django.utils.module_loading import import_string

    from .senders import CONSOLE_SENDER

    try:
        voiceotp_settings.user_settings  # noqa: B018 - check_settings reports a non-dict
    except ImproperlyConfigured:
        return []
    messages = []
    redial_max = voiceotp_settings.REDIAL_MAX
    if isinstance(redial_max, bool) or not isinstance(redial_max, int) or redial_max < 0:
        messages.append(_malformed("REDIAL_MAX", "a whole number, 0 or more"))
    delay = voiceotp_settings.REDIAL_DELAY
    if isinstance(delay, bool) or not isinstance(delay, Real) or delay < 0:
        messages.append(_malformed("REDIAL_DELAY", "a number of seconds, 0 or more"))
    statuses = voiceotp_settings.REDIAL_STATUSES
    if statuses is not None and (
        isinstance(statuses, str)
        or not isinstance(statuses, (list, tuple, set, frozenset))
        or not all(isinstance(status, str) and status for status in statuses)
    ):
        messages.append(_malformed("REDIAL_STATUSES", "None or a list of provider statuses"))
    sender = voiceotp_settings.FALLBACK_SENDER
    if sender is None:
        return messages
    if not isinstance(sender, str):
        return [*messages, _malformed("FALLBACK_SENDER", "None or a dotted path")]
    try:
        target = import_string(sender)
    except (ImportError, TypeError, ValueError) as err:  # TypeError: a relative path, "..x"
        messages.append(
            Error(
                f"{SETTINGS_NAME}['FALLBACK_SENDER'] cannot be imported: {err}",
                hint="Name a callable taking phone_number=, otp= and call=.",
                id="django_voiceotp.E020",
            )
        )
        return messages
    if not callable(target):
        messages.append(_malformed("FALLBACK_SENDER", "the dotted path of a callable"))
    if sender == CONSOLE_SENDER and not settings.DEBUG:
        messages.append(
            Warning(
                "FALLBACK_SENDER is the console sender with DEBUG off: passcodes are written to "
                "standard output instead of reaching anyone.",
                hint="Write a sender for your SMS provider (see "
                "https://django-voiceotp.readthedocs.io/en/latest/delivery.html#reaching-the-person).",
                id="django_voiceotp.W020",
            )
        )
    return messages


#: Test numbers to suggest: outside the ranges assigned to Vietnam's operators, as phonenumbers'
#: metadata has them (no number under +84 71–75 is valid), so no one's line. Vietnam publishes no
#: range reserved for tests or fiction: a later plan may assign these, and phonenumbers with it.
SUGGESTED_TEST_NUMBERS = ("+84 71 000 0001", "+84 72 000 0002")


@register(Tags.compatibility)
def check_test_numbers(app_configs=None, **kwargs):
    """Test numbers get in without a call: list them, so none is left on by mistake, and warn
    of a code easy to guess."""
    try:
        numbers = voiceotp_settings.TEST_NUMBERS
    except ImproperlyConfigured:  # check_settings reports a VOICEOTP that is not a dict
        return []
    if not numbers:
        return []
    if not isinstance(numbers, dict):
        return [_malformed_test_numbers()]
    messages = []
    listed = []
    for spelling, code in numbers.items():
        try:
            validate_otp(code)
        except InvalidOTP as err:
            # The message says what is wrong with the code, never the code itself.
            messages.append(
                Error(
                    f"{SETTINGS_NAME}['TEST_NUMBERS'][{spelling!r}] is not a usable code: {err}",
                    id="django_voiceotp.E011",
                )
            )
        except TypeError:  # OTP_MIN_LENGTH or OTP_MAX_LENGTH malformed: check E006 says so
            pass
        else:
            if weakness := _weak_code(code.strip()):
                messages.append(
                    Warning(
                        f"{SETTINGS_NAME}['TEST_NUMBERS'][{spelling!r}] has a code {weakness}: "
                        "it is among the first anyone guesses.",
                        hint=f"Use {SAFE_CODE_LENGTH} or more random digits.",
                        id="django_voiceotp.W014",
                    )
                )
        try:
            listed.append(limits.allowed_number(spelling))
        except InvalidPhoneNumber as err:
            messages.append(
                Warning(
                    f"{SETTINGS_NAME}['TEST_NUMBERS'] names {spelling!r}, which is not a number "
                    f"this site can call ({err}): asking for its code is refused.",
                    hint="Use a number of an allowed country, such as "
                    f"{SUGGESTED_TEST_NUMBERS[0]}.",
                    id="django_voiceotp.W012",
                )
            )
        except (ImproperlyConfigured, TypeError, ValueError, AttributeError):
            # A malformed phone or destination setting: its own check names it.
            continue
    if listed and settings.DEBUG:
        messages.append(
            Info(
                f"Test numbers (a fixed code, no call placed): {', '.join(listed)}.",
                hint="Anyone who knows one and its code can verify it; remove those not in use.",
                id="django_voiceotp.I003",
            )
        )
    elif listed:
        messages.append(
            Warning(
                f"Test numbers are set with DEBUG off: {', '.join(listed)} verify with a fixed "
                "code and no call, for anyone who knows the code.",
                hint="Keep them for an app-store review or QA and remove them after. Choose "
                "numbers outside the ranges assigned to operators, so none is anyone's line: "
                f"e.g. {' or '.join(SUGGESTED_TEST_NUMBERS)} (unassigned in phonenumbers' "
                "metadata, not reserved by the regulator: a later numbering plan may assign "
                "them). Wrong guesses lock a test number for the day after "
                "TEST_GUESSES_PER_DAY.",
                id="django_voiceotp.W013",
            )
        )
    return messages


def _weak_code(code: str) -> str | None:
    """What makes a test number's fixed code easy to guess, or None."""
    if len(set(code)) == 1:
        return "of one repeated digit"
    steps = {int(after) - int(before) for before, after in zip(code, code[1:], strict=False)}
    if steps in ({1}, {-1}):
        return "of consecutive digits"
    if len(code) < SAFE_CODE_LENGTH:
        return f"of fewer than {SAFE_CODE_LENGTH} digits"
    return None


def _malformed_test_numbers() -> Error:
    # Not _malformed(): its message would print the codes.
    return Error(
        f"{SETTINGS_NAME}['TEST_NUMBERS'] must be a dict of phone numbers to codes, such as "
        '{"+84 77 000 0001": "123456"}.',
        id="django_voiceotp.E011",
    )


#: Connection options of Python's sqlite3 module and Django's SQLite backend that no other
#: backend takes: on PostgreSQL each one is an "invalid connection option" and nothing connects.
SQLITE_ONLY_OPTIONS = (
    "transaction_mode",
    "check_same_thread",
    "detect_types",
    "cached_statements",
    "factory",
    "uri",
)


@register(Tags.compatibility)
def check_sqlite_options_on_other_engines(app_configs=None, **kwargs):
    """SQLite's options left on a database moved to another engine (the quickstart's
    ``transaction_mode`` on PostgreSQL): every connection would be refused."""
    from django.core.exceptions import ImproperlyConfigured as DjangoImproperlyConfigured
    from django.db.utils import load_backend

    messages = []
    databases = settings.DATABASES if isinstance(settings.DATABASES, dict) else {}
    for alias, settings_dict in databases.items():
        if not isinstance(settings_dict, dict):
            continue
        options = settings_dict.get("OPTIONS")
        if not isinstance(options, dict):
            continue
        try:
            vendor = load_backend(settings_dict.get("ENGINE")).DatabaseWrapper.vendor
        except (DjangoImproperlyConfigured, ImportError, TypeError):
            continue  # Django itself says what is wrong with the ENGINE
        found = [key for key in SQLITE_ONLY_OPTIONS if key in options]
        if vendor == "sqlite" or not found:
            continue
        messages.append(
            Error(
                f"DATABASES[{alias!r}] is {vendor}, but its OPTIONS hold {', '.join(found)}, "
                f"which only SQLite takes: {vendor} refuses every connection with them.",
                hint="Remove them from this entry's OPTIONS; "
                'DATABASES["default"]["OPTIONS"] = {"transaction_mode": "IMMEDIATE"} is for '
                "SQLite alone.",
                id="django_voiceotp.E040",
            )
        )
    return messages


#: Domains reserved for documentation (RFC 2606): a CALLBACK_BASE_URL on one was copied from an
#: example, and the provider would post each call's result, phone number included, to a stranger.
DOCUMENTATION_DOMAINS = ("example.com", "example.net", "example.org", "example", "invalid")


@register(Tags.compatibility)
def check_callback_base_url_in_production(app_configs=None, **kwargs):
    """With DEBUG off, CALLBACK_BASE_URL is this site's address: not empty (an environment
    variable left unset) and not an example's domain copied from the documentation."""
    if settings.DEBUG:
        return []
    try:
        base_url = voiceotp_settings.CALLBACK_BASE_URL
    except ImproperlyConfigured:  # check_settings reports a VOICEOTP that is not a dict
        return []
    if not isinstance(base_url, str):
        return []  # None is polling alone; other types are check_setting_values' (E006)
    hint = (
        "Set it to this site's public address as the provider reaches it, read from the "
        "environment (VOICEOTP_CALLBACK_BASE_URL in the production docs), or to None to find "
        "results by polling alone."
    )
    if not base_url.strip():
        return [
            Error(
                f"{SETTINGS_NAME}['CALLBACK_BASE_URL'] is empty: the environment variable it is "
                "read from is probably not set.",
                hint=hint,
                id="django_voiceotp.E041",
            )
        ]
    host = (urlparse(base_url).hostname or "").rstrip(".")
    if any(host == domain or host.endswith(f".{domain}") for domain in DOCUMENTATION_DOMAINS):
        return [
            Error(
                f"{SETTINGS_NAME}['CALLBACK_BASE_URL'] is on {host}, a domain reserved for "
                "documentation: the provider would post every call's result, phone number "
                "included, to a site that is not this one.",
                hint=hint,
                id="django_voiceotp.E041",
            )
        ]
    return []


#: Django settings that are only set behind a proxy (it rewrites the host, port or scheme).
PROXY_SETTINGS = ("USE_X_FORWARDED_HOST", "USE_X_FORWARDED_PORT", "SECURE_PROXY_SSL_HEADER")


def _proxy_signals() -> list[str]:
    """What in the set-up says the site is served behind a proxy or on a UNIX socket."""
    signals = [name for name in PROXY_SETTINGS if getattr(settings, name, None)]
    # gunicorn and uvicorn read these from the environment: addresses of proxies they trust, and
    # command-line options that may bind a UNIX socket (where REMOTE_ADDR is empty).
    if os.environ.get("FORWARDED_ALLOW_IPS"):
        signals.append("FORWARDED_ALLOW_IPS in the environment")
    if "unix:" in os.environ.get("GUNICORN_CMD_ARGS", ""):
        signals.append("a UNIX socket in GUNICORN_CMD_ARGS")
    return signals


@register(Tags.security)
def check_client_address(app_configs=None, **kwargs):
    """Who is asking: TRUSTED_PROXY_HOPS, OWNER_MAX_AGE, and a proxy left unnamed."""
    try:
        voiceotp_settings.user_settings  # noqa: B018 - check_settings reports a non-dict
    except ImproperlyConfigured:
        return []
    messages = []
    hops = voiceotp_settings.TRUSTED_PROXY_HOPS
    if not isinstance(hops, int) or isinstance(hops, bool) or hops < 1:
        messages.append(_malformed("TRUSTED_PROXY_HOPS", "a whole number of at least 1"))
    owner_max_age = voiceotp_settings.OWNER_MAX_AGE
    if not isinstance(owner_max_age, int) or isinstance(owner_max_age, bool) or owner_max_age < 0:
        messages.append(
            _malformed("OWNER_MAX_AGE", "a whole number of seconds (0 recognises no owner)")
        )
    if voiceotp_settings.TRUSTED_PROXY_HEADER:
        return messages
    signals = _proxy_signals()
    if signals:
        messages.append(
            Warning(
                f"The site looks served behind a proxy or on a UNIX socket ({', '.join(signals)}) "
                f"but {SETTINGS_NAME}['TRUSTED_PROXY_HEADER'] is not set: every client is counted "
                "as the proxy's address, or as one unknown client, so one client can use up the "
                "per-client limit for all.",
                hint="Name the header your proxy sets (e.g. X-Forwarded-For) in "
                "TRUSTED_PROXY_HEADER, and the number of your proxies in TRUSTED_PROXY_HOPS. "
                "See https://django-voiceotp.readthedocs.io/en/latest/client-address.html.",
                id="django_voiceotp.W030",
            )
        )
    if isinstance(hops, int) and not isinstance(hops, bool) and hops > 1:
        messages.append(
            Warning(
                f"{SETTINGS_NAME}['TRUSTED_PROXY_HOPS'] is {hops} but TRUSTED_PROXY_HEADER is not "
                "set: the hops are not used, and clients are counted by REMOTE_ADDR.",
                hint="Set TRUSTED_PROXY_HEADER to the header your proxies append to.",
                id="django_voiceotp.W031",
            )
        )
    return messages


#: The site's budget and the owner's share: whole numbers, 0 or None turning each off.
SPENDING_LIMITS = (
    "SENDS_PER_HOUR",
    "SENDS_PER_DAY",
    "FALLBACKS_PER_HOUR",
    "SENDS_RESERVED_FOR_OWNER_PER_DAY",
)


@register(Tags.compatibility)
def check_spending_settings(app_configs=None, **kwargs):
    """The site's budget, the owner's share of a number's day and the kill switch."""
    try:
        voiceotp_settings.user_settings  # noqa: B018 - check_settings reports a non-dict
    except ImproperlyConfigured:
        return []

    def whole(value: object) -> bool:
        return isinstance(value, int) and not isinstance(value, bool) and value >= 0

    messages = []
    for key in SPENDING_LIMITS:
        value = getattr(voiceotp_settings, key)
        if value is not None and not whole(value):
            messages.append(_malformed(key, "a whole number (0 or None turns it off)"))
    paused = voiceotp_settings.SENDING_PAUSED
    if not isinstance(paused, bool):
        messages.append(_malformed("SENDING_PAUSED", "True or False"))
    elif paused:
        messages.append(
            Warning(
                f"{SETTINGS_NAME}['SENDING_PAUSED'] is True: every code is refused and no call "
                "or fallback message is placed.",
                hint="Set it to False to send again.",
                id="django_voiceotp.W036",
            )
        )
    budget = [voiceotp_settings.SENDS_PER_HOUR, voiceotp_settings.SENDS_PER_DAY]
    if all(whole(value) or value is None for value in budget) and not any(budget):
        messages.append(
            Warning(
                "SENDS_PER_HOUR and SENDS_PER_DAY are both off: nothing bounds what the whole "
                "site spends on calls (an attacker rotating addresses and numbers is limited "
                "by nothing else).",
                hint="Set SENDS_PER_DAY to the most calls a day you are ready to pay for.",
                id="django_voiceotp.W035",
            )
        )
    reserved = voiceotp_settings.SENDS_RESERVED_FOR_OWNER_PER_DAY
    per_day = voiceotp_settings.SENDS_PER_NUMBER_PER_DAY
    if whole(reserved) and whole(per_day) and reserved and per_day and reserved >= per_day:
        messages.append(
            Warning(
                f"{SETTINGS_NAME}['SENDS_RESERVED_FOR_OWNER_PER_DAY'] ({reserved}) leaves "
                f"nothing of SENDS_PER_NUMBER_PER_DAY ({per_day}) to other clients: a number's "
                "first-time owner gets one send a day.",
                hint="Reserve fewer sends than SENDS_PER_NUMBER_PER_DAY.",
                id="django_voiceotp.W037",
            )
        )
    return messages
