"""The provider's callback endpoint."""

from __future__ import annotations

from rest_framework.permissions import AllowAny
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from .callbacks import receive_callback, receive_oversized_callback
from .conf import voiceotp_settings


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

    def post(self, request, token: str):
        remote_addr = request.META.get("REMOTE_ADDR")
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > voiceotp_settings.CALLBACK_MAX_BODY_SIZE:
            result = receive_oversized_callback(token, remote_addr=remote_addr)
        else:
            result = receive_callback(
                token,
                request.body,
                content_type=request.content_type or "",
                remote_addr=remote_addr,
            )
        return Response(
            {"verdict": result.verdict, "detail": result.detail}, status=result.http_status
        )
