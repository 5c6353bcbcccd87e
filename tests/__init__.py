import pytest

# Shared expectations live outside test modules; their asserts should explain themselves too.
pytest.register_assert_rewrite("tests.hostile_cases", "tests.hostile_requests")
