"""The test suite's Celery application, configured from the CELERY_* Django settings."""

from celery import Celery
from celery.signals import setup_logging

app = Celery("tests")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.set_default()


@setup_logging.connect
def keep_pytests_logging(**kwargs):
    """A worker started in the test process leaves logging as pytest set it: by default Celery
    would set the root logger to the worker's level (ERROR) and remove pytest's handlers, so every
    later test would capture no warning."""
