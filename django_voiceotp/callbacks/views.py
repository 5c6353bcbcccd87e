"""The provider's callback endpoint: ``callbacks/<token>/``, one call's own signed URL.

The view reads the request (its size, its body, the client's address) and answers with the
verdict the door (``callbacks.door``) decides; what it cannot answer itself is a 503 logged
without the token.
"""

from __future__ import annotations

import logging
import traceback

from django.core.exceptions import RequestDataTooBig
from django.db import transaction
from rest_framework.permissions import AllowAny
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from ..callback_urls import call_id_from_callback_token
from ..conf import voiceotp_settings
from ..limits.clients import client_ip
from ..negotiation import JSONWhateverAccept
from .door import LENGTH_REQUIRED, TOO_LARGE, receive_callback, receive_unread_callback

logger = logging.getLogger("django_voiceotp")


class CallbackView(APIView):
    """POST from the provider with a call's result, at the call's own signed URL.

    The provider signs nothing and logs in nowhere: the token in the URL is the authentication,
    so no session, CSRF or throttle stands in its way. The body is read raw, not through a parser,
    so that even a request that is not JSON is stored with its verdict.

    The path holds the token, so no log record of this app or of Django may carry it: the
    door logs each rejection with the call's pk, and Django's ``django.request``
    record of the answer (its path, and the request for handlers that print it, such as the
    admins' error mail) is not made. An error the view does not answer itself (a database
    error, a bad setting) would reach that record with a 500: it is logged here with the call's
    pk instead, and answered 503, which the provider retries.
    """

    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes: list = []
    parser_classes: list = []
    renderer_classes = [JSONRenderer]
    content_negotiation_class = JSONWhateverAccept

    @classmethod
    def as_view(cls, **initkwargs):
        # Outside ATOMIC_REQUESTS: a request's transaction begins deferred, before the view, and
        # on SQLite its read-then-write would lose callbacks to a lock; the view makes its own.
        return transaction.non_atomic_requests(super().as_view(**initkwargs))

    def post(self, request, token: str):
        # The address the abuse limits count: behind a proxy, the client's, not the proxy's.
        remote_addr = client_ip(request)
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

    def handle_exception(self, exc):
        try:
            return super().handle_exception(exc)  # DRF's own exceptions: its answer
        except Exception as err:
            _log_error(err, self.kwargs.get("token", ""))
            return Response(
                {"detail": "The callback could not be processed now; retry."}, status=503
            )

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        # Every answer, a 405 too: django.utils.log.log_response skips a response so marked.
        response._has_been_logged = True
        return response


def _log_error(err: Exception, token: str) -> None:
    """Log an error with the call's pk and a traceback from which the token is cut: frames
    show code, not values, but an exception's message (or one it was raised from) could hold
    the token or the path."""
    try:
        call_pk = call_id_from_callback_token(token)
    except Exception:  # the setting that failed the request may fail this too
        call_pk = None
    trace = "".join(traceback.format_exception(err))
    if token:
        trace = trace.replace(token, "<token>")
    logger.error(
        "Callback for call %s failed (%s); answered 503.\n%s",
        call_pk if call_pk is not None else "unknown",
        type(err).__name__,
        trace,
    )


def _content_length(value: str | None) -> int:
    try:
        return max(int(value or 0), 0)
    except ValueError:
        return 0


def _is_chunked(transfer_encoding: str | None) -> bool:
    return bool(transfer_encoding and transfer_encoding.strip().lower() != "identity")
