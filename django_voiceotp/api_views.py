"""The verification endpoints: ask for a code, check it, follow its call."""

from __future__ import annotations

from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from rest_framework import status
from rest_framework.exceptions import APIException, NotFound, Throttled
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from .exceptions import CampaignUnavailable, RateLimited
from .models import Verification
from .serializers import (
    CodeCheckSerializer,
    VerificationCreatedSerializer,
    VerificationRequestSerializer,
    VerificationStatusSerializer,
)
from .throttling import VerificationRequestThrottle, client_ip
from .verification import CheckResult, check_code, request_code

#: One answer for every failed check: wrong, expired, used, locked or unknown look the same to a
#: client, so it learns nothing about the code it tries to guess.
CHECK_FAILED = {
    "verified": False,
    "detail": _("The code is not valid. Check it, or ask for a new one."),
}


class CallsUnavailable(APIException):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = _("Calls cannot be placed right now.")
    default_code = "calls_unavailable"


class VerificationCreateView(APIView):
    """``POST verifications/`` ``{"phone_number"}``: call the number with a new code.

    Open to anonymous clients (phone verification usually comes before an account); subclass
    and set ``permission_classes`` to restrict it.
    """

    permission_classes = [AllowAny]
    throttle_classes = [VerificationRequestThrottle]

    def post(self, request):
        serializer = VerificationRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            verification = request_code(
                serializer.validated_data["phone_number"], client_ip=client_ip(request)
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


class VerificationDetailView(APIView):
    """``GET verifications/<id>/``: the state of the call, for a "calling…" spinner."""

    permission_classes = [AllowAny]

    def get(self, request, pk):
        verification = Verification.objects.select_related("call").filter(pk=pk).first()
        if verification is None:
            raise NotFound()
        return Response(VerificationStatusSerializer(verification).data)


class VerificationCheckView(APIView):
    """``POST verifications/<id>/check/`` ``{"code"}``: 200 when verified, else one same 400."""

    permission_classes = [AllowAny]

    def post(self, request, pk):
        serializer = CodeCheckSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        verification = Verification.objects.filter(pk=pk).first()
        if verification is None:
            return Response(CHECK_FAILED, status=status.HTTP_400_BAD_REQUEST)
        result = check_code(
            verification.phone_number,
            serializer.validated_data["code"],
            verification=verification,
        )
        if result is CheckResult.VERIFIED:
            return Response({"verified": True})
        return Response(CHECK_FAILED, status=status.HTTP_400_BAD_REQUEST)
