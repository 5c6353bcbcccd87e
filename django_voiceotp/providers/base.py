"""What a voice provider's backend is: the operations the app asks of every provider.

A backend is chosen by ``VOICEOTP["PROVIDERS"]``, by the dotted path of a subclass of
:class:`BaseProvider`, as ``EMAIL_BACKEND`` chooses a mail backend. Like the client before it, a
backend knows no models, views or tasks: it speaks its provider's API and can be used alone.

How a backend says what went wrong is part of its contract, so the app treats every provider
alike:

- a failure that may pass (timeout, refused connection, 5xx, 429, a garbled answer) raises
  :class:`~django_voiceotp.exceptions.ProviderUnavailable`: the send is retried;
- a final refusal (a 4xx, a bad number, an unknown campaign) raises
  :class:`~django_voiceotp.exceptions.ProviderRejected` (its subclass
  :class:`~django_voiceotp.exceptions.AuthenticationFailed` for refused credentials);
- a call placed but not reached (no answer, busy) is not an error: it is the report's outcome,
  failed with a raw status among :attr:`BaseProvider.not_reached_statuses`, where a redial helps.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..conf import SETTINGS_NAME, voiceotp_settings
from ..exceptions import ImproperlyConfigured
from ..provider_reports import CallReport


@dataclass(frozen=True)
class StartedCall:
    """A call the provider accepted: its id there, and the campaign it was placed in."""

    call_id: str
    campaign_id: str


class BaseProvider:
    """A voice provider. Subclasses implement the four operations below; settings are read on
    use, so one instance may live long (``get_provider`` keeps one per name).

    :param name: the provider's name in ``PROVIDERS`` (``"pitel"`` without it).
    :param options: the provider's entry in ``PROVIDERS`` (its ``BACKEND`` among them), or None
        when it is the provider the flat ``VOICEOTP`` keys describe.
    """

    #: Options an entry of ``PROVIDERS`` must give; the system check reports each one missing.
    required_options: tuple[str, ...] = ()
    #: The provider's statuses of a call placed but not reached, compared case-insensitively:
    #: its failures a redial may mend (``REDIAL_STATUSES`` narrows them).
    not_reached_statuses: tuple[str, ...] = ()
    #: Whether the provider answers :meth:`get_report`. Without it, a call's result comes by
    #: callback only: its polls ask nothing, and past the last one it fails as ``timeout``.
    supports_polling: bool = True

    def __init__(self, name: str = "", options: Mapping[str, Any] | None = None) -> None:
        self.name = name
        self.options = options

    def __repr__(self) -> str:
        # The name only: options hold credentials.
        return f"<{type(self).__name__} {self.name!r}>"

    # -- options ---------------------------------------------------------------------------------

    def option(self, key: str) -> Any:
        """The option ``key`` of this provider's entry; when the entry does not give it (or there
        is no entry), the flat ``VOICEOTP`` key of that name; None when there is none (an option
        of one backend only, as Stringee's ``API_KEY_SECRET``)."""
        if self.options is not None and key in self.options:
            return self.options[key]
        return getattr(voiceotp_settings, key, None)

    def require_option(self, key: str) -> Any:
        """:meth:`option`, or ImproperlyConfigured naming the exact key when it is empty."""
        value = self.option(key)
        if not value:
            if self.options is None:
                where = f"{SETTINGS_NAME}[{key!r}]"
            else:
                where = f"{SETTINGS_NAME}['PROVIDERS'][{self.name!r}][{key!r}]"
            raise ImproperlyConfigured(f"{where} is required and not set.")
        return value

    # -- what a backend implements ---------------------------------------------------------------

    def authenticate(self) -> str:
        """Obtain fresh credentials from the provider, now (``voiceotp_check``'s round trip).

        Returns who the provider says we are, for display: never the credential itself.
        """
        raise NotImplementedError

    def start_call(
        self, campaign_id: str, phone_number: str, otp: str, callback_url: str | None = None
    ) -> StartedCall:
        """Place the call that reads the numeric passcode ``otp`` to ``phone_number``.

        ``callback_url``: where the provider posts the call's result, or None (polling only).
        """
        raise NotImplementedError

    def get_report(self, call_id: str) -> CallReport:
        """The call's state now, asked of the provider (a poll), where it allows
        (:attr:`supports_polling`)."""
        raise NotImplementedError

    def parse_webhook(self, payload: Any) -> CallReport:
        """The report a callback's parsed JSON body carries, its values made safe to store.

        :raises InvalidReport: (a ValueError, from ``provider_reports``) when it is none.
        """
        raise NotImplementedError

    # -- what the app asks of every backend alike ------------------------------------------------

    def is_not_reached(self, raw_status: str) -> bool:
        """Whether a failed call's raw status says the person was not reached."""
        statuses = {status.casefold() for status in self.not_reached_statuses}
        return raw_status.strip().casefold() in statuses
