"""The abuse limits around each code: verification, the cache the counters live in, who the
client is, and what the whole site may spend."""

from __future__ import annotations

import os

from django.conf import settings
from django.core.checks import Error, Tags, Warning, register

from ..conf import SETTINGS_NAME, voiceotp_settings
from ..conf.registry import cache_alias, is_whole
from ..limits import non_atomic_cache_backend
from .settings import malformed, malformed_values, readable

#: Cache backends that keep counters per process: limits would not hold across processes.
#: (Those whose counters cannot be atomic at all are refused: limits.NON_ATOMIC_CACHES.)
UNSHARED_CACHES = ("django.core.cache.backends.locmem.LocMemCache",)
#: Fewer digits than this are guessed too easily within MAX_ATTEMPTS tries of many codes.
SAFE_CODE_LENGTH = 6


@register(Tags.compatibility)
def check_verification_settings(app_configs=None, **kwargs):
    """The verification and abuse-limit settings, and a cache the limits can be shared through."""
    if not readable():
        return []
    messages = malformed_values("check_verification_settings")
    length = voiceotp_settings.CODE_LENGTH
    low, high = voiceotp_settings.OTP_MIN_LENGTH, voiceotp_settings.OTP_MAX_LENGTH
    if is_whole(length) and is_whole(low) and is_whole(high) and not low <= length <= high:
        messages.append(malformed("CODE_LENGTH", f"a whole number from {low} to {high}"))
    if is_whole(length) and length < SAFE_CODE_LENGTH:
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
    if not cache_alias(alias):
        return messages  # E006 above: no cache to say more of
    if backend := non_atomic_cache_backend(alias):
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
    if not readable():
        return []
    messages = malformed_values("check_client_address")
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
    hops = voiceotp_settings.TRUSTED_PROXY_HOPS
    if is_whole(hops) and hops > 1:
        messages.append(
            Warning(
                f"{SETTINGS_NAME}['TRUSTED_PROXY_HOPS'] is {hops} but TRUSTED_PROXY_HEADER is not "
                "set: the hops are not used, and clients are counted by REMOTE_ADDR.",
                hint="Set TRUSTED_PROXY_HEADER to the header your proxies append to.",
                id="django_voiceotp.W031",
            )
        )
    return messages


@register(Tags.compatibility)
def check_spending_settings(app_configs=None, **kwargs):
    """The site's budget, the owner's share of a number's day and the kill switch."""
    if not readable():
        return []
    messages = malformed_values("check_spending_settings")
    if voiceotp_settings.SENDING_PAUSED is True:
        messages.append(
            Warning(
                f"{SETTINGS_NAME}['SENDING_PAUSED'] is True: every code is refused and no call "
                "or fallback message is placed.",
                hint="Set it to False to send again.",
                id="django_voiceotp.W036",
            )
        )
    budget = [voiceotp_settings.SENDS_PER_HOUR, voiceotp_settings.SENDS_PER_DAY]
    if all(is_whole(value) or value is None for value in budget) and not any(budget):
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
    if is_whole(reserved) and is_whole(per_day) and reserved and per_day and reserved >= per_day:
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
