"""Settings for the test suite: SQLite, the sandbox provider mounted in the same project."""

import os
import tempfile

SECRET_KEY = "tests-only-not-secret"
DEBUG = False
USE_TZ = True
TIME_ZONE = "UTC"
ALLOWED_HOSTS = ["*"]
ROOT_URLCONF = "tests.urls"
STATIC_URL = "static/"

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "rest_framework",
    "django_voiceotp",
    # The integrations, tested against the real packages (the `test` extra installs them).
    "django_otp",
    "django_otp.plugins.otp_static",
    "django_otp.plugins.otp_totp",
    "two_factor",
    "two_factor.plugins.phonenumber",
    "django_voiceotp.contrib.otp",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
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

# A file, not memory: the live server, the sandbox's callback threads and Celery worker threads
# then each get their own connection, as they would in production.
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.path.join(tempfile.gettempdir(), "voiceotp-tests.sqlite3"),
        "TEST": {
            "NAME": os.path.join(tempfile.gettempdir(), f"voiceotp-tests-{os.getpid()}.sqlite3")
        },
        # As the README recommends (check I002); tests/test_sqlite_locking.py runs without it.
        "OPTIONS": {"timeout": 30, "transaction_mode": "IMMEDIATE"},
    }
}
# Fast hashing: the admin tests log users in; what a hasher costs is no concern here.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

CELERY_TASK_ALWAYS_EAGER = True
CELERY_TASK_EAGER_PROPAGATES = True

# API_URL is replaced by the live sandbox's address in tests that talk HTTP.
VOICEOTP = {
    "API_URL": "http://sandbox.invalid/sandbox/",
    "SECRET_KEY": "30511f666-f888-411b-a6e0-11111fb6gg7a",
    "DEFAULT_CAMPAIGN": "c78af",
}

LOGGING_CONFIG = None
CELERY_BROKER_URL = "memory://"
# The in-memory transport polls its queues; the default second makes worker tests wait for nothing.
CELERY_BROKER_TRANSPORT_OPTIONS = {"polling_interval": 0.05}

# django-two-factor-auth: calls go through this app; the admin keeps its own login page.
TWO_FACTOR_CALL_GATEWAY = "django_voiceotp.contrib.two_factor.VoiceOTPGateway"
TWO_FACTOR_PATCH_ADMIN = False
