"""The verification API under hostile and odd requests, on PostgreSQL (cases: api_hostile_cases)."""

from ..api_hostile_cases import *  # noqa: F403

# On PostgreSQL and Redis too: clients of unknown address share one per-client limit (N2); a
# stranger can neither cancel a pending code nor spend the owner's share of the day (F12).
from ..test_api import test_a_stranger_cannot_cancel_a_pending_code  # noqa: F401
from ..test_api_hostile import test_clients_of_unknown_address_share_one_limit  # noqa: F401
from ..test_owner_share import (  # noqa: F401
    known_code,
    test_a_first_time_owner_is_a_stranger,
    test_strangers_cannot_spend_the_owners_share,
)
