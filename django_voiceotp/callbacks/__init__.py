"""The provider's callbacks: the view (``callbacks.views``), receiving and judging a request
(``callbacks.door``) and the bounded storage of those not applied (``callbacks.rejections``).

The door's names are the package's own too (``callbacks.receive_callback``); the view is
imported from ``callbacks.views``.
"""

from .door import (
    BAD_TOKEN,
    CALL_FINISHED,
    CALLBACK_FINAL_GRACE_MAX,
    LENGTH_REQUIRED,
    TOO_LARGE,
    UNSTORABLE,
    UNSTORABLE_ERRORS,
    CallbackResult,
    Reason,
    Verdict,
    callback_final_grace,
    is_valid_final_grace,
    receive_callback,
    receive_unread_callback,
)
from .rejections import (
    ANY_NETWORK,
    REJECTED_BODY_PREFIX,
    REJECTED_ROWS_PER_HOUR,
    REJECTION_WINDOW,
    rejected_runs_started,
    run_of,
)

__all__ = [
    "ANY_NETWORK",
    "BAD_TOKEN",
    "CALLBACK_FINAL_GRACE_MAX",
    "CALL_FINISHED",
    "LENGTH_REQUIRED",
    "REJECTED_BODY_PREFIX",
    "REJECTED_ROWS_PER_HOUR",
    "REJECTION_WINDOW",
    "TOO_LARGE",
    "UNSTORABLE",
    "UNSTORABLE_ERRORS",
    "CallbackResult",
    "Reason",
    "Verdict",
    "callback_final_grace",
    "is_valid_final_grace",
    "receive_callback",
    "receive_unread_callback",
    "rejected_runs_started",
    "run_of",
]
