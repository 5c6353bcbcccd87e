"""Fallback senders: what FALLBACK_SENDER may name.

``console_sender`` writes the message to standard output, for development only;
``esms.send_sms`` sends it as an SMS through eSMS.vn (docs/sms-fallback.rst).
"""

from __future__ import annotations

from .console import CONSOLE_SENDER, console_sender

__all__ = ["CONSOLE_SENDER", "console_sender"]
