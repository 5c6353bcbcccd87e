"""The verification endpoints: ask for a code, check it, follow its call."""

from __future__ import annotations

import uuid

from django.core.exceptions import RequestDataTooBig
from django.db.models import QuerySet
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from rest_framework import status
from rest_framework.exceptions import APIException, NotFound, ParseError, Throttled
from rest_framework.parsers import JSONParser
from rest_framework.permissions import AllowAny
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from .exceptions import CampaignUnavailable, RateLimited
from .limits.clients import client_ip, is_owner, remember_owner
from .limits.throttles import VerificationRequestThrottle
from .models import Verification
from .negotiation import JSONWhateverAccept
from .payloads import PayloadError, parse_json
from .serializers import (
    CodeCheckSerializer,
    VerificationCreatedSerializer,
    VerificationRequestSerializer,
    VerificationStatusSerializer,
)
from .verification import CheckResult, check_code, request_code

#: One answer for every failed check: wrong, expired, used, locked or unknown look the same to a
#: client, so it learns nothing about the code it tries to guess.
CHECK_FAILED = {
    "verified": False,
    "detail": _("The code is not valid. Check it, or ask for a new one."),
}


#: Far more than a verification body needs ({"phone_number": ...} is one level).
MAX_JSON_DEPTH = 16


class StrictJSONParser(JSONParser):
    """The app's one JSON parser (``payloads.parse_json``) behind DRF: nesting limited, no NaN or
    Infinity, UTF-8 only; what it refuses is a 400 parse error, never a server error."""

    def parse(self, stream, media_type=None, parser_context=None):
        body = stream.read() if stream is not None else b""
        try:
            return parse_json(body, max_depth=MAX_JSON_DEPTH)
        except PayloadError as err:
            raise ParseError(str(err)) from err


class BodyTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The body is larger than DATA_UPLOAD_MAX_MEMORY_SIZE."
    default_code = "too_large"


class VerificationAPIView(APIView):
    """What every verification endpoint shares: JSON in and out, and no user.

    JSON only, so a cross-site form (which a browser sends without asking) gets 415 and never
    places a call: a browser must send a preflight for JSON, which no CORS policy of ours
    answers. No authentication classes: these views use no user, so the project's DRF
    authentication must not answer for them (a password check on a Basic header would be an
    unthrottled oracle, and session authentication a CSRF 403 to logged-in browsers).
    """

    parser_classes = [StrictJSONParser]
    renderer_classes = [JSONRenderer]
    content_negotiation_class = JSONWhateverAccept
    authentication_classes: list = []
    permission_classes = [AllowAny]

    def handle_exception(self, exc):
        if isinstance(exc, RequestDataTooBig):
            # Django's bound on the body, raised while DRF reads it: a JSON answer, not a 500
            # page in DEBUG or an HTML 400 otherwise.
            exc = BodyTooLarge()
        return super().handle_exception(exc)


def find_verification(
    pk: str, queryset: QuerySet[Verification] | None = None
) -> Verification | None:
    """The verification of id ``pk``, or None when there is none (or ``pk`` is not a UUID)."""
    try:
        verification_id = uuid.UUID(pk)
    except ValueError:
        return None
    if queryset is None:
        queryset = Verification.objects.all()
    return queryset.filter(pk=verification_id).first()


class CallsUnavailable(APIException):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = _("Calls cannot be placed right now.")
    default_code = "calls_unavailable"


class VerificationCreateView(VerificationAPIView):
    """``POST verifications/`` ``{"phone_number"}``: call the number with a new code.

    Open to anonymous clients (phone verification usually comes before an account); subclass
    and set ``permission_classes`` to restrict it. A client that verified the number before
    (``limits.clients.is_owner``) asks as its owner.
    """

    throttle_classes = [VerificationRequestThrottle]

    def post(self, request):
        serializer = VerificationRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        number = serializer.validated_data["phone_number"]
        try:
            verification = request_code(
                number, client_ip=client_ip(request), owner=is_owner(request, number)
            )
        except RateLimited as err:
            raise Throttled(wait=err.retry_after) from err
        except CampaignUnavailable as err:
            raise CallsUnavailable() from err
        location = reverse(
            f"{request.resolver_match.namespace}:verification-detail",
            kwargs={"pk": verification.pk},
        )
        return Response(
            VerificationCreatedSerializer(verification).data,
            status=status.HTTP_201_CREATED,
            headers={"Location": request.build_absolute_uri(location)},
        )


class VerificationDetailView(VerificationAPIView):
    """``GET verifications/<id>/``: the state of the call, for a "calling…" spinner."""

    def get(self, request, pk):
        verification = find_verification(pk, Verification.objects.select_related("call"))
        if verification is None:
            raise NotFound()
        return Response(VerificationStatusSerializer(verification).data)


class VerificationCheckView(VerificationAPIView):
    """``POST verifications/<id>/check/`` ``{"code"}``: 200 when verified, else one same 400.

    A verified check sets the owner cookie (``limits.clients.remember_owner``): the client asks as
    the number's owner from then on.
    """

    def post(self, request, pk):
        serializer = CodeCheckSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        verification = find_verification(pk)
        if verification is None:
            return Response(CHECK_FAILED, status=status.HTTP_400_BAD_REQUEST)
        result = check_code(
            verification.phone_number,
            serializer.validated_data["code"],
            verification=verification,
        )
        if result is CheckResult.VERIFIED:
            response = Response({"verified": True})
            remember_owner(request, response, verification.phone_number)
            return response
        return Response(CHECK_FAILED, status=status.HTTP_400_BAD_REQUEST)
