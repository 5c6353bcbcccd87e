"""Receivers of the three call signals, storing each as a SignalRecord."""

from django_voiceotp.signals import call_failed, call_status_changed, call_succeeded

SIGNAL_NAMES = {
    call_status_changed: "call_status_changed",
    call_succeeded: "call_succeeded",
    call_failed: "call_failed",
}


def record(signal, sender, call, old_status="", new_status="", reason="", **kwargs) -> None:
    from .models import SignalRecord

    SignalRecord.objects.create(
        signal=SIGNAL_NAMES[signal],
        call_id=call.pk,
        old_status=old_status or "",
        new_status=new_status or "",
        reason=(reason or "")[:255],
    )


def connect() -> None:
    for signal, name in SIGNAL_NAMES.items():
        signal.connect(record, dispatch_uid=f"signal_log.{name}")


def disconnect() -> None:
    for signal, name in SIGNAL_NAMES.items():
        signal.disconnect(dispatch_uid=f"signal_log.{name}")
