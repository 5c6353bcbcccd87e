"""Settings of the pytest process in the production tier: the example project's, on PostgreSQL.

The test process, the gunicorn workers and the Celery workers all run the example project, so
the test database pytest-django migrates has every table the workers need. The servers start
after Django is configured, so the addresses below are placeholders that ``conftest.py`` fills in
(in place, before the first connection) once PostgreSQL and Redis listen.
"""

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# The example project is a directory of the repository, not an installed package.
sys.path.insert(0, str(ROOT / "example_project"))
os.environ["CELERY_TASK_ALWAYS_EAGER"] = "0"
os.environ["DJANGO_DEBUG"] = "0"  # DEBUG keeps every query in memory: not under load

from example_project.settings import *  # noqa: E402,F403

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": "voiceotp",
        "USER": "postgres",
        "HOST": "127.0.0.1",
        "PORT": "",  # set by the postgres_server fixture
        "CONN_MAX_AGE": 0,
        # Between tests pytest-django truncates every table while workers and beat still run; if
        # that meets a worker's transaction in a deadlock, the worker's side (whose check comes
        # after 1 s, PostgreSQL's default) is the one aborted, not the truncate.
        "OPTIONS": {"options": "-c deadlock_timeout=10s"},
        "TEST": {"NAME": "test_voiceotp"},
    }
}
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": "",  # set by the redis_server fixture
    }
}
CELERY_BROKER_URL = ""  # set by the redis_server fixture
CELERY_TASK_ALWAYS_EAGER = False
LOGGING_CONFIG = None
