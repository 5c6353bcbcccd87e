"""A simulated eSMS.vn SMS gateway for development, demos and tests — NOT for production.

Written from eSMS's public developer documentation alone (developers.esms.vn, whose source is the
repositories devesms/gitbook_esms_for_develop_v2 and devesms/gitbook_esms_for_develop_v2_en), and
sharing no code with ``django_voiceotp.senders.esms``. Mount ``django_voiceotp.sandbox.esms.urls``
in a project (``path("esms-sandbox/", include(...))``); the gateway's base URL is then the mount.

What it speaks, as the documentation describes it:

- ``POST MainService.svc/json/SendMultipleMessage_V4_post_json/`` (page "Send OTP/Customer care
  message"): a JSON body with ``ApiKey``, ``SecretKey``, ``Phone``, ``Content``, ``Brandname``,
  ``SmsType`` (``2`` customer care, ``8`` fixed number), optional ``IsUnicode``, ``Sandbox``,
  ``RequestId`` (duplicates refused for 24 hours), ``CallbackUrl``, ``campaignid``, ``SendDate``.
  Answers ``{"CodeResult": "100", "CountRegenerate": 0, "SMSID": ...}``, or a ``CodeResult`` of
  the "Table of error codes": ``101`` wrong ApiKey/SecretKey, ``104`` brandname not registered,
  ``108`` phone number malformed, ``118`` message type not supported, ``124`` duplicate
  RequestId (``"ErrorMessage": "Request exist 1"``, ``"SendStatus": "5"``), ``300`` no message
  type, ``99`` phone number blocked; a body that is not a JSON object gets
  ``{"error": "Invalid request"}``.
- ``Sandbox: 1`` (page "Test environment (Sandbox)"): the message is checked and answered as any
  other, but not stored, not charged, not delivered: so no RequestId is kept and no report follows.
- ``CallbackUrl`` (page "Callback Url"): once the message has its final status, an HTTP GET of
  that URL with ``SMSID``, ``SendFailed``, ``SendStatus`` (5: sent), ``SendSuccess``,
  ``TotalPrice``, ``TotalReceiver``, ``TotalSent``, ``RequestId``, ``TypeId``, ``telcoid``,
  ``phonenumber``; tried up to 5 times while the URL times out or cannot be reached.
- ``GET MainService.svc/json/GetSendStatus?RefId=&ApiKey=&SecretKey=`` (page "Get SMS by SMSID"):
  ``CodeResponse`` ``100`` with ``SendStatus``, ``SendSuccess``, ``SendFailed``...; ``101`` wrong
  keys; ``105`` no such message.

Account: ``API_KEY``, ``SECRET_KEY`` and the brandname ``BRANDNAME`` (the documentation's test
brandname). A message to a number ending in ``9`` fails at the operator (``SendFailed=1``); any
other is delivered. Faults (``gateway.inject``, or ``POST _sandbox/faults``): ``http_error``
(a gateway page with a 5xx, nothing sent), ``slow`` (the message is accepted, then the answer
waits ``seconds``: a client that gave up does not know it was sent), ``garbage`` (not JSON).
``GET _sandbox/messages`` lists every message, its content included **on purpose**: tests and
demos play the phone's part. The sandbox itself never prints or logs a message or a key.
"""

API_KEY = "ESMS-SANDBOX-API-KEY-0001"
SECRET_KEY = "esms-sandbox-secret-key-0001"
BRANDNAME = "Baotrixemay"

__all__ = ["API_KEY", "BRANDNAME", "SECRET_KEY"]
