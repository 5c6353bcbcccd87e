"""The verification API under hostile and odd requests, on SQLite (cases: api_hostile_cases)."""

from .api_hostile_cases import *  # noqa: F403
