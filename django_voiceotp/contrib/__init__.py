"""Integrations with other packages, each an optional extra (``django-voiceotp[otp]``)."""
