"""The project around the app: its databases, and its public address with DEBUG off."""

from __future__ import annotations

from urllib.parse import urlparse

from django.conf import settings
from django.core.checks import Error, Info, Tags, register
from django.db import connections

from ..conf import SETTINGS_NAME, voiceotp_settings
from ..db import LOCKING_MODES
from ..exceptions import ImproperlyConfigured


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
