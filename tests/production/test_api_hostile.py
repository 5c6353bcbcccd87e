"""The verification API under hostile and odd requests, on PostgreSQL (cases: api_hostile_cases)."""

from ..api_hostile_cases import *  # noqa: F403

# N2 on PostgreSQL and Redis: clients of unknown address share one per-client limit.
from ..test_api_hostile import test_clients_of_unknown_address_share_one_limit  # noqa: F401
