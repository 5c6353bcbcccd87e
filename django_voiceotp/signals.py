"""Signals the app sends, each exactly once per transition and after the transaction commits."""

import logging

from django.dispatch import Signal

logger = logging.getLogger("django_voiceotp")

#: A call changed status. kwargs: ``call``, ``old_status``, ``new_status``.
call_status_changed = Signal()

#: A call ended in success: the person answered and heard the passcode. kwargs: ``call``.
call_succeeded = Signal()

#: A call ended in failure. kwargs: ``call``, ``reason`` (the provider's raw status, or
#: ``expired``, ``timeout``, ``rejected: ...``, ``provider unavailable: ...``), ``redial`` (the
#: new :class:`~django_voiceotp.models.Call` that places it again, or None when none follows).
call_failed = Signal()

#: A code was generated and its call stored, after the transaction commits.
#: ``sender=Verification``; kwargs: ``verification``.
code_requested = Signal()

#: A code was checked and was right: the number is verified. kwargs: ``verification``.
code_verified = Signal()

#: A code was checked and refused. kwargs: ``verification``, ``reason`` (a
#: :class:`~django_voiceotp.verification.CheckResult`: ``WRONG_CODE``, ``EXPIRED``, ``USED``,
#: ``LOCKED`` or ``SUPERSEDED``).
code_failed = Signal()

#: A code took ``MAX_ATTEMPTS`` wrong tries and is dead; sent once per code.
#: kwargs: ``verification``.
code_locked = Signal()


def send_robust(signal: Signal, sender: type, **kwargs) -> None:
    """Send ``signal`` to every receiver; one that raises is logged and stops nothing.

    The state change it announces is committed already: a receiver's bug must not undo it,
    break the callback view or the task, or keep the other receivers from hearing of it.
    """
    for receiver, result in signal.send_robust(sender=sender, **kwargs):
        if isinstance(result, Exception):
            logger.error(
                "Signal receiver %r raised; the state it was told of is saved regardless.",
                receiver,
                exc_info=result,
            )
