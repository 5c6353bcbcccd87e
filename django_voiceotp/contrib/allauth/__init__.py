"""django-allauth's phone sign-up and login, its codes read out by a voice call.

.. code-block:: python

    INSTALLED_APPS += ["django_voiceotp.contrib.allauth", "allauth", "allauth.account"]
    ACCOUNT_ADAPTER = "django_voiceotp.contrib.allauth.adapter.VoiceOTPAccountAdapter"

The app keeps each user's number (:class:`~.models.PhoneNumber`) and overrides allauth's pages
that say a code "has been sent". See :mod:`django_voiceotp.contrib.allauth.adapter`.
"""
