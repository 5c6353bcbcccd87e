"""The test settings with django-allauth: phone sign-up, login by code, the headless API.

Its own settings module (``pytest tests/allauth_site --ds=tests.allauth_site.settings``), since
allauth's middleware, backends and tables would change the project every other test runs in.
"""

from tests.settings import *  # noqa: F403
from tests.settings import INSTALLED_APPS, MIDDLEWARE

INSTALLED_APPS = [
    *INSTALLED_APPS,
    # Before allauth: its templates say a code comes by a call.
    "django_voiceotp.contrib.allauth",
    "allauth",
    "allauth.account",
    "allauth.headless",
]
MIDDLEWARE = [*MIDDLEWARE, "allauth.account.middleware.AccountMiddleware"]
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
ROOT_URLCONF = "tests.allauth_site.urls"

ACCOUNT_ADAPTER = "django_voiceotp.contrib.allauth.adapter.VoiceOTPAccountAdapter"
ACCOUNT_LOGIN_METHODS = {"phone"}
ACCOUNT_SIGNUP_FIELDS = ["phone*", "username*", "password1*", "password2*"]
ACCOUNT_EMAIL_VERIFICATION = "none"
ACCOUNT_LOGIN_BY_CODE_ENABLED = True
ACCOUNT_PHONE_VERIFICATION_SUPPORTS_RESEND = True
# allauth's own limits off: the ones under test are the app's, in its admission gate.
ACCOUNT_RATE_LIMITS = False
HEADLESS_FRONTEND_URLS: dict[str, str] = {}
