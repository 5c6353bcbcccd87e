"""Settings of a project that runs the app on Django's tasks framework and never configures Celery.

The processes of ``tasks_stack.TasksStack`` run it: gunicorn (the callbacks), django-tasks-db's
``db_worker`` and ``voiceotp_sweep --every``, and ``tasks_driver`` (sends and reads for the
tests). ``TASKS_DATABASE`` chooses the database: ``sqlite:///path`` or ``postgresql://…``.
"""

import json
import os
import sys
from pathlib import Path
from urllib.parse import unquote, urlsplit

import django

ROOT = Path(__file__).resolve().parents[2]
# The example project's signal_log app stores every signal as a row, for the tests to count.
sys.path.insert(0, str(ROOT / "example_project"))

SECRET_KEY = "tasks-tier-not-secret"
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1"]
USE_TZ = True
TIME_ZONE = "Asia/Ho_Chi_Minh"
ROOT_URLCONF = "tests.production.tasks_urls"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "rest_framework",
    "django_voiceotp",
    "django_tasks_db",
    "signal_log",
]
if django.VERSION < (6, 0):
    INSTALLED_APPS += ["django_tasks"]

TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}


def database(url: str) -> dict:
    parts = urlsplit(url)
    if parts.scheme == "sqlite":
        # Every process writes: take the write lock when a transaction begins, and wait for it.
        return {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": parts.path,
            "OPTIONS": {"transaction_mode": "IMMEDIATE", "timeout": 30},
        }
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": unquote(parts.path.lstrip("/")),
        "USER": unquote(parts.username or ""),
        "HOST": parts.hostname or "",
        "PORT": str(parts.port or ""),
        "CONN_MAX_AGE": 60,
    }


DATABASES = {"default": database(os.environ.get("TASKS_DATABASE", "sqlite:///:memory:"))}
# Every process must see the same cache: the provider's access token is shared through it.
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": os.environ.get("CACHE_URL", "redis://127.0.0.1:6379/3"),
    }
}

VOICEOTP = {
    "DISPATCHER": "django",
    "API_URL": os.environ.get("VOICEOTP_API_URL", "http://127.0.0.1:9/"),
    "SECRET_KEY": "30511f666-f888-411b-a6e0-11111fb6gg7a",
    "DEFAULT_CAMPAIGN": "c78af",
    "CALLBACK_BASE_URL": os.environ.get("VOICEOTP_CALLBACK_BASE_URL"),
    **json.loads(os.environ.get("VOICEOTP_OPTIONS", "{}")),
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {"django_voiceotp": {"handlers": ["console"], "level": "INFO"}},
}
