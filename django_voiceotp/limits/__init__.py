"""The abuse limits: which numbers may be called, how often, from which client, and at what cost
to the site.

Every entry point that places a call for a code (``request_code``, the HTTP API, the django-otp
device, the two-factor gateway) goes through :func:`admit`: it parses the number once, applies
the destination policy, counts the send against the abuse limits, and hands back the number to
call. Voice calls cost money and are what toll fraudsters abuse most, so every limit is on by
default.

What costs money is counted, not only codes: the first call of a code (in :func:`admit`), every
redial and every fallback message (:func:`consume_follow_up`, from the delivery policy), and an
operator's "call again". Above the per-number and per-client limits stand a site-wide budget
(``SENDS_PER_HOUR``, ``SENDS_PER_DAY``, ``FALLBACKS_PER_HOUR``) and a kill switch
(``SENDING_PAUSED``, or :func:`pause_sending` from the admin). docs/limits.rst states what one
code may cost at most.

The rooms: ``gate`` (admission, the destination policy, counting a send), ``counters`` (the
fixed windows in the limits cache), ``site`` (the site's budget and the kill switch), ``payers``
(who pays for a code's follow-ups), ``clients`` (the client's address and the owner cookie) and
``throttles`` (the DRF throttle). The names below are the package's own: use them as
``limits.admit``, ``limits.Payer``.
"""

from .clients import UNKNOWN_CLIENT
from .counters import (
    CALL,
    FALLBACK,
    KEY_PREFIX,
    NON_ATOMIC_CACHES,
    SITE_LIMITS,
    SITE_SUBJECT,
    Limit,
    ip_subject,
    non_atomic_cache_backend,
    number_day_count,
    send_limits,
)
from .gate import (
    SPENDING_LIMIT_REASON,
    AllowedNumber,
    admit,
    allowed_number,
    allowed_number_types,
    check_country_and_prefix,
    check_destination,
    consume_follow_up,
    consume_send,
    retry_after,
)
from .payers import (
    Payer,
    follow_ups_possible,
    record_payer,
    recorded_payer,
    remember_admission,
)
from .site import (
    PAUSED_KEY,
    PAUSED_RETRY_AFTER,
    SENDING_PAUSED_REASON,
    BudgetUse,
    pause_sending,
    resume_sending,
    sending_paused,
    site_budget,
)

__all__ = [
    "CALL",
    "FALLBACK",
    "KEY_PREFIX",
    "NON_ATOMIC_CACHES",
    "PAUSED_KEY",
    "PAUSED_RETRY_AFTER",
    "SENDING_PAUSED_REASON",
    "SITE_LIMITS",
    "SITE_SUBJECT",
    "SPENDING_LIMIT_REASON",
    "UNKNOWN_CLIENT",
    "AllowedNumber",
    "BudgetUse",
    "Limit",
    "Payer",
    "admit",
    "allowed_number",
    "allowed_number_types",
    "check_country_and_prefix",
    "check_destination",
    "consume_follow_up",
    "consume_send",
    "follow_ups_possible",
    "ip_subject",
    "non_atomic_cache_backend",
    "number_day_count",
    "pause_sending",
    "record_payer",
    "recorded_payer",
    "remember_admission",
    "resume_sending",
    "retry_after",
    "send_limits",
    "sending_paused",
    "site_budget",
]
