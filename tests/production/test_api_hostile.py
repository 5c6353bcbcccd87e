"""The verification API under hostile and odd requests, on PostgreSQL (cases: api_hostile_cases)."""

from ..api_hostile_cases import *  # noqa: F403
