"""django-allauth's phone codes read out by a voice call placed through this app.

.. code-block:: python

    ACCOUNT_ADAPTER = "myproject.adapter.AccountAdapter"  # a subclass of VoiceOTPAccountAdapter

See :mod:`django_voiceotp.contrib.allauth.adapter`.
"""
