"""A simulated Stringee voice API for development, demos and tests — NOT for production.

Written from Stringee's public developer documentation alone (developer.stringee.com: "Make
outbound calls", "Call Events", the REST API's "Authentication"; the samples of the repository
stringeecom/server-samples), and sharing no code with ``django_voiceotp.providers.stringee``.
Mount ``django_voiceotp.sandbox.stringee.urls`` in a project (``path("stringee-sandbox/",
include(...))``); the API's base URL is then ``<mount>v1/``.

What it speaks, as the documentation describes it:

- ``POST v1/call2/callout`` with the header ``X-STRINGEE-AUTH``: a JWT (header ``alg`` HS256,
  ``cty`` ``stringee-api;v=1``; payload ``iss`` the API key SID, ``exp`` in the future,
  ``rest_api`` true) signed with the API key secret. A token that fails any of these is answered
  HTTP 401 with a non-zero ``r`` (the documentation lists no error codes: these are the
  sandbox's). The body: ``from`` (the account's number), ``to`` (a list, the first entry
  called), ``actions`` (an SCCO whose ``talk`` actions are read to the person) and
  ``event_url``. Answered ``{"r": 0, "call_id": "call-vn-1-...", "message": "Call out
  success"}``.
- Call events (page "Call Events"), POSTed as JSON to the call's ``event_url``: ``ringing``,
  ``answered``, then ``ended`` with ``endCallCause``, ``endedBy``, ``duration`` and
  ``answerDuration``. An unanswered call sends ``ringing`` then ``ended``: ``"486 Busy Here"``
  for a busy line, ``"408 Request Timeout"`` when nobody answers, ``"503 Service Unavailable"``
  when the call fails. ``exchange.script(number, [outcome, ...])`` sets the next outcomes of a
  number (``answered``, ``busy``, ``no_answer``, ``failed``); a number ending in ``9`` is busy.

Account: ``API_KEY_SID``, ``API_KEY_SECRET``, ``FROM_NUMBER``. Faults (``exchange.inject``, or
``POST _sandbox/faults``): ``http_error`` (a 5xx page, no call placed), ``timeout`` (the
answer waits ``seconds``, no call placed), ``bad_token`` (the token refused whatever it is).
``GET _sandbox/calls`` lists every call, the text read **on purpose**: tests and demos play the
phone's part. The sandbox itself never prints or logs the text or a key.
"""

API_KEY_SID = "SK.0.SandboxStringeeKeySid0001"
API_KEY_SECRET = "c2FuZGJveC1zdHJpbmdlZS1zZWNyZXQtMDAwMQ"
FROM_NUMBER = "842471001234"

__all__ = ["API_KEY_SECRET", "API_KEY_SID", "FROM_NUMBER"]
