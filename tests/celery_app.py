"""The test suite's Celery application, configured from the CELERY_* Django settings."""

from celery import Celery

app = Celery("tests")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.set_default()
