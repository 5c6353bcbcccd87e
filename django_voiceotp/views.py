"""The provider's callback endpoint."""

from __future__ import annotations

from django.core.exceptions import RequestDataTooBig
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.permissions import AllowAny
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from .callbacks import LENGTH_REQUIRED, TOO_LARGE, receive_callback, receive_unread_callback
from .conf import voiceotp_settings


class JSONWhateverAccept(BaseContentNegotiation):
    """Answer with the view's first renderer, whatever the client's ``Accept`` says.

    DRF's default would answer 406 before the view runs (nothing stored, nothing applied) to a
    provider that sends ``Accept: text/html``; the provider reads the status, not the body.
    """

    def select_parser(self, request, parsers):
        return parsers[0] if parsers else None

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


class CallbackView(APIView):
    """POST from the provider with a call's result, at the call's own signed URL.

    The provider signs nothing and logs in nowhere: the token in the URL is the authentication,
    so no session, CSRF or throttle stands in its way. The body is read raw, not through a parser,
    so that even a request that is not JSON is stored with its verdict.
    """

    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes: list = []
    parser_classes: list = []
    renderer_classes = [JSONRenderer]
    content_negotiation_class = JSONWhateverAccept

    def post(self, request, token: str):
        remote_addr = request.META.get("REMOTE_ADDR")
        length = _content_length(request.META.get("CONTENT_LENGTH"))
        if _is_chunked(request.META.get("HTTP_TRANSFER_ENCODING")):
            # Django reads a body up to its Content-Length, so a chunked one would look empty:
            # refused for what it is, rather than judged as an empty body.
            result = receive_unread_callback(
                token, LENGTH_REQUIRED, size=None, remote_addr=remote_addr
            )
        elif length > voiceotp_settings.CALLBACK_MAX_BODY_SIZE:
            result = receive_unread_callback(token, TOO_LARGE, size=length, remote_addr=remote_addr)
        else:
            try:
                body = request.body
            except RequestDataTooBig:  # the project's DATA_UPLOAD_MAX_MEMORY_SIZE is lower
                result = receive_unread_callback(
                    token, TOO_LARGE, size=length, remote_addr=remote_addr
                )
            else:
                result = receive_callback(
                    token, body, content_type=request.content_type or "", remote_addr=remote_addr
                )
        return Response(
            {"verdict": result.verdict, "detail": result.detail}, status=result.http_status
        )


def _content_length(value: str | None) -> int:
    try:
        return max(int(value or 0), 0)
    except ValueError:
        return 0


def _is_chunked(transfer_encoding: str | None) -> bool:
    return bool(transfer_encoding and transfer_encoding.strip().lower() != "identity")
