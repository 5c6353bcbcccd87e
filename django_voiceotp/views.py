"""Deprecated: the callback view lives in ``django_voiceotp.callbacks.views``, ``metrics_view`` in
``django_voiceotp.metrics``."""

from __future__ import annotations

from .deprecation import moved_names

#: Each name this module held, and the module that holds it now.
MOVED = {
    "CallbackView": "django_voiceotp.callbacks.views",
    "JSONWhateverAccept": "django_voiceotp.negotiation",
    "metrics_view": "django_voiceotp.metrics",
}


__getattr__ = moved_names(__name__, MOVED)
