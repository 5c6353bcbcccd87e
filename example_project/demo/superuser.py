"""The demo's superuser, so the admin can be opened with credentials ``make demo`` prints."""

import os

from django.contrib.auth import get_user_model

# A local demo on a loopback address, not a secret: printed for the visitor to use.
USERNAME = os.environ.get("DEMO_ADMIN_USERNAME", "admin")
PASSWORD = os.environ.get("DEMO_ADMIN_PASSWORD", "voiceotp-demo")


def ensure_demo_superuser() -> None:
    """Create the superuser, or reset its password and rights if it exists, so the printed
    credentials always work."""
    user, _ = get_user_model().objects.get_or_create(username=USERNAME)
    user.is_staff = user.is_superuser = user.is_active = True
    user.set_password(PASSWORD)
    user.save()
