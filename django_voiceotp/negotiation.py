"""Content negotiation for the app's HTTP doors (the callback door and the verification API)."""

from __future__ import annotations

from rest_framework.negotiation import DefaultContentNegotiation


class JSONWhateverAccept(DefaultContentNegotiation):
    """Answer with the view's first renderer, JSON, whatever the client's ``Accept`` says.

    DRF's default would answer 406 before the view runs (nothing stored, nothing applied) to a
    provider that sends ``Accept: text/html``; the provider reads the status, not the body.
    Parsers are still chosen by content type, so a JSON-only view answers 415 to anything else.
    """

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type
