from django.apps import AppConfig


class SignalLogConfig(AppConfig):
    name = "signal_log"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import receivers

        receivers.connect()
