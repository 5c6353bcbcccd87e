"""A simulated OTP Voice Autocall provider for development, demos and tests — NOT for production.

It speaks the provider's v1 API (``spec/provider-api.rst``) from the spec alone and shares no code
with the rest of ``django_voiceotp``. Mount ``django_voiceotp.sandbox.urls`` in a project, or run it
alone with ``python -m django_voiceotp.sandbox [--host 127.0.0.1] [--port 8765]``.

Account: the spec's example values — ``SECRET_KEY``, ``USER_ID``, ``ACCESS_TOKEN`` (the first token
issued) and one campaign, ``CAMPAIGN_ID``; more with ``state.provider.add_campaign(id)``.

The result of a call depends on the **last digit of the phone number**:

====== ============ ======== ==========
digit  status       duration keypress
====== ============ ======== ==========
9      ``Fail``     0        ``""``
8      ``NOANWSER`` 0        ``""``
7      ``BUSY``     0        ``""``
other  ``Success``  11       the OTP
====== ============ ======== ==========

A call stays in progress (``report`` answers ``"status": ""``) for ``call_duration`` seconds, then
the callback, if a ``callback_url`` was given, is posted after a further ``callback_delay``.
Behaviour and faults are driven through ``state.provider`` or the ``_sandbox/`` control endpoints.

``GET _sandbox/calls`` returns each call's OTP **on purpose**: a demo page plays the phone's part.
The sandbox itself never prints or logs an OTP, a token or the secret key.
"""

from .constants import ACCESS_TOKEN, CAMPAIGN_ID, SECRET_KEY, USER_ID

__all__ = ["ACCESS_TOKEN", "CAMPAIGN_ID", "SECRET_KEY", "USER_ID"]
