"""Signals the app sends, each exactly once per transition and after the transaction commits."""

from django.dispatch import Signal

#: A call changed status. kwargs: ``call``, ``old_status``, ``new_status``.
call_status_changed = Signal()

#: A call ended in success: the person answered and heard the passcode. kwargs: ``call``.
call_succeeded = Signal()

#: A call ended in failure. kwargs: ``call``, ``reason`` (the provider's raw status, or
#: ``expired``, ``timeout``, ``rejected: ...``, ``provider unavailable: ...``).
call_failed = Signal()
