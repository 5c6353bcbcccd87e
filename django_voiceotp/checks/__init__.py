"""Django system checks for the VOICEOTP settings and the project around them.

Importing the package registers every check (``apps.py`` does, in ``ready()``). Each value is
checked against its declaration (``conf/definitions.py``) by the check function it names; what
spans several settings or looks beyond them lives by concern:

- ``settings``: VOICEOTP itself, required and unknown keys, the values' declarations;
- ``queue``: ``DISPATCHER`` and Celery's set-up;
- ``providers``: ``PROVIDERS``, each backend and its required options;
- ``delivery``: the callback URLs, redials and the fallback sender;
- ``limits``: verification, the limits' cache, the client's address, the site's budget;
- ``test_numbers``: numbers given a fixed code;
- ``deployment``: the databases, and the public address with ``DEBUG`` off.
"""

from .delivery import check_callback_urls, check_delivery_settings
from .deployment import (
    DOCUMENTATION_DOMAINS,
    SQLITE_ONLY_OPTIONS,
    check_callback_base_url_in_production,
    check_sqlite_options_on_other_engines,
    check_sqlite_transaction_mode,
)
from .limits import (
    PROXY_SETTINGS,
    SAFE_CODE_LENGTH,
    UNSHARED_CACHES,
    check_client_address,
    check_spending_settings,
    check_verification_settings,
)
from .providers import check_providers
from .queue import (
    DJANGO_CONFIG_SOURCE,
    SWEEPER_TASK,
    CelerySetup,
    celery_setup,
    check_celery,
    check_dispatcher,
    check_django_tasks,
)
from .settings import check_setting_values, check_settings
from .test_numbers import SUGGESTED_TEST_NUMBERS, check_test_numbers

__all__ = [
    "DJANGO_CONFIG_SOURCE",
    "DOCUMENTATION_DOMAINS",
    "PROXY_SETTINGS",
    "SAFE_CODE_LENGTH",
    "SQLITE_ONLY_OPTIONS",
    "SUGGESTED_TEST_NUMBERS",
    "SWEEPER_TASK",
    "UNSHARED_CACHES",
    "CelerySetup",
    "celery_setup",
    "check_callback_base_url_in_production",
    "check_callback_urls",
    "check_celery",
    "check_client_address",
    "check_delivery_settings",
    "check_dispatcher",
    "check_django_tasks",
    "check_providers",
    "check_setting_values",
    "check_settings",
    "check_spending_settings",
    "check_sqlite_options_on_other_engines",
    "check_sqlite_transaction_mode",
    "check_test_numbers",
    "check_verification_settings",
]
