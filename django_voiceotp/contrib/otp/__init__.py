"""A django-otp device that calls the user with a code: add ``django_voiceotp.contrib.otp``."""
