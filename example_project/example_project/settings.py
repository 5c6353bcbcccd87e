"""Settings of the example project: SQLite, the sandbox provider mounted here, Celery eager.

Every value can be overridden from the environment, so the same project also runs against
PostgreSQL, Redis and real workers.
"""

import json
import os
from pathlib import Path
from urllib.parse import unquote, urlsplit

BASE_DIR = Path(__file__).resolve().parent.parent

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "example-project-not-for-production")
DEBUG = os.environ.get("DJANGO_DEBUG", "1") == "1"
# The sandbox provider lists every passcode it "speaks" and posts to any callback URL: mounted
# (with the demo page, which shows what it speaks) only in development, or when asked for.
MOUNT_SANDBOX = os.environ.get("VOICEOTP_SANDBOX", "1" if DEBUG else "0") == "1"
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "[::1]"]
USE_TZ = True
TIME_ZONE = "Asia/Ho_Chi_Minh"
LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("vi", "Tiếng Việt")]
ROOT_URLCONF = os.environ.get("DJANGO_ROOT_URLCONF", "example_project.urls")
WSGI_APPLICATION = "example_project.wsgi.application"
STATIC_URL = "static/"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_voiceotp",
    "demo",
    "signal_log",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # No page of the project may be framed by another site (clickjacking).
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ.get("DEMO_DATABASE", str(BASE_DIR / "db.sqlite3")),
        # Transactions take the write lock when they begin, so a callback arriving while another
        # request writes waits its turn instead of failing with "database is locked".
        "OPTIONS": {"transaction_mode": "IMMEDIATE"},
    }
}

# The demo's own address: the sandbox provider is mounted under it at /sandbox/.
DEMO_URL = os.environ.get("DEMO_URL", "http://127.0.0.1:8000")

VOICEOTP = {
    "API_URL": os.environ.get("VOICEOTP_API_URL", f"{DEMO_URL}/sandbox/"),
    # The sandbox's secret key (from the provider's documentation); a real one comes from the env.
    "SECRET_KEY": os.environ.get("VOICEOTP_SECRET_KEY", "30511f666-f888-411b-a6e0-11111fb6gg7a"),
    "DEFAULT_CAMPAIGN": os.environ.get("VOICEOTP_CAMPAIGN", "c78af"),
    "CALLBACK_BASE_URL": os.environ.get("VOICEOTP_CALLBACK_BASE_URL", DEMO_URL),
    # Reaching the person: one redial of a call nobody answered (numbers ending in 8 or 7 in the
    # sandbox), then, in development, the passcode by SMS (below: the eSMS sandbox).
    "REDIAL_MAX": 1,
    "FALLBACK_SENDER": "django_voiceotp.senders.console_sender" if DEBUG else None,
}

if MOUNT_SANDBOX:
    # The demo's providers, each on its sandbox mounted here (urls.py) with the account its
    # documentation gives: no account needed. The page chooses the provider of each call; a call
    # Pitel cannot place (down, or its circuit breaker open) is placed by Stringee instead.
    from django_voiceotp.sandbox import esms as esms_sandbox
    from django_voiceotp.sandbox import stringee as stringee_sandbox

    VOICEOTP["PROVIDERS"] = {
        "pitel": {
            "BACKEND": "django_voiceotp.providers.pitel.PitelProvider",
            "API_URL": VOICEOTP["API_URL"],
            "SECRET_KEY": VOICEOTP["SECRET_KEY"],
            "DEFAULT_CAMPAIGN": VOICEOTP["DEFAULT_CAMPAIGN"],
        },
        "stringee": {
            "BACKEND": "django_voiceotp.providers.stringee.StringeeProvider",
            "API_URL": f"{DEMO_URL}/stringee-sandbox/v1/",
            "API_KEY_SID": stringee_sandbox.API_KEY_SID,
            "API_KEY_SECRET": stringee_sandbox.API_KEY_SECRET,
            "FROM_NUMBER": stringee_sandbox.FROM_NUMBER,
            # The app's name for the calls Stringee places (Stringee itself has no campaigns).
            "DEFAULT_CAMPAIGN": "otp-stringee",
        },
    }
    VOICEOTP["FAILOVER"] = ["pitel", "stringee"]
    # The passcode by SMS when no call reached the person, through the eSMS sandbox: the demo
    # page's phone shows the message.
    VOICEOTP["FALLBACK_SENDER"] = "django_voiceotp.senders.esms.send_sms"
    VOICEOTP["ESMS"] = {
        "API_URL": f"{DEMO_URL}/esms-sandbox/",
        "API_KEY": esms_sandbox.API_KEY,
        "SECRET_KEY": esms_sandbox.SECRET_KEY,
        "BRANDNAME": esms_sandbox.BRANDNAME,
        "MESSAGE": "Ma xac thuc cua ban la {code}. Khong chia se ma nay voi bat ky ai.",
    }

CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "memory://")
CELERY_TASK_ALWAYS_EAGER = os.environ.get("CELERY_TASK_ALWAYS_EAGER", "1") == "1"

# -- Production-like: PostgreSQL, Redis and real workers, from the environment (docs/production.rst)


def database_from_url(url: str) -> dict:
    """``postgresql://user:password@host:port/name`` as a DATABASES entry."""
    parts = urlsplit(url)
    if parts.scheme not in ("postgres", "postgresql"):
        raise ValueError(f"DATABASE_URL: unsupported scheme {parts.scheme!r}")
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": unquote(parts.path.lstrip("/")),
        "USER": unquote(parts.username or ""),
        "PASSWORD": unquote(parts.password or ""),
        "HOST": parts.hostname or "",
        "PORT": str(parts.port or ""),
        # Health checks cost a round trip per request; turn them on where the database may
        # restart under you.
        "CONN_HEALTH_CHECKS": os.environ.get("DATABASE_CONN_HEALTH_CHECKS", "0") == "1",
        **database_connections(int(os.environ.get("DATABASE_POOL_SIZE", "32"))),
    }


def database_connections(pool_size: int) -> dict:
    """How a process keeps its database connections: a pool of up to ``pool_size``, or with 0
    persistent connections of ``DATABASE_CONN_MAX_AGE`` seconds (which web processes keep).

    Celery closes every database connection when a task ends, whatever ``CONN_MAX_AGE`` says, so
    without a pool each task opens a new one: a PostgreSQL backend started and torn down per
    call. With a pool, that close hands the connection back. A task holds its connection while it
    waits for the provider, so the pool must be as large as a worker's threads (``-c``). The
    default suits the ``-P threads -c 32`` workers of docs/production.rst; run a prefork worker
    with 0, as Celery closes a prefork process's pool too after every task.
    """
    if not pool_size:
        return {"CONN_MAX_AGE": int(os.environ.get("DATABASE_CONN_MAX_AGE", "60"))}
    # min_size 0: connections are opened as threads first ask, no more. With a minimum, the
    # first request can arrive before the pool's own first connection is ready and open a
    # second one, so a one-thread web process would hold two.
    return {"OPTIONS": {"pool": {"min_size": 0, "max_size": pool_size}}}


if os.environ.get("DATABASE_URL"):
    DATABASES = {"default": database_from_url(os.environ["DATABASE_URL"])}

# Every process must see the same cache: the provider's access token is shared through it.
if os.environ.get("CACHE_URL"):
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": os.environ["CACHE_URL"],
        }
    }

# A task is acknowledged only once it has run, and put back if its worker process dies, so a
# crash mid-task means the task runs again (the send's claim makes that safe), not never.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
# With late acks a worker holds no more tasks than it runs: none wait behind a slow send.
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BEAT_SCHEDULE = {
    "voiceotp-sweeper": {
        "task": "django_voiceotp.tasks.poll_pending_calls",
        "schedule": float(os.environ.get("VOICEOTP_SWEEP_INTERVAL", "15")),
    }
}
# Any other VOICEOTP key as JSON, e.g. VOICEOTP_OPTIONS='{"PENDING_GRACE": 30}'.
VOICEOTP.update(json.loads(os.environ.get("VOICEOTP_OPTIONS", "{}")))

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {"django_voiceotp": {"handlers": ["console"], "level": "INFO"}},
}
