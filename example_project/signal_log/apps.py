import os

from django.apps import AppConfig


class SignalLogConfig(AppConfig):
    name = "signal_log"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import receivers

        # SIGNAL_LOG=0 leaves the signals unrecorded: the benchmarks measure the app, not this.
        if os.environ.get("SIGNAL_LOG", "1") == "1":
            receivers.connect()
