"""URLs of the app: ``path("voiceotp/", include("django_voiceotp.urls"))``."""

from django.urls import path

from .callbacks.views import CallbackView
from .senders.esms_reports import DeliveryReportView
from .verification_api import VerificationCheckView, VerificationCreateView, VerificationDetailView

app_name = "django_voiceotp"

urlpatterns = [
    path("callbacks/<str:token>/", CallbackView.as_view(), name="callback"),
    # Delivery reports of the eSMS fallback sender's messages (docs/sms-fallback.rst).
    path("esms/reports/<str:token>/", DeliveryReportView.as_view(), name="esms-report"),
    # Phone verification (request_code / verify_code over HTTP), described in openapi.yaml.
    # <str:pk>, not <uuid:pk>: the views answer an id that is not a UUID in JSON, as any unknown
    # one, where the URL resolver would answer with the project's HTML 404 page.
    path("verifications/", VerificationCreateView.as_view(), name="verification-list"),
    path("verifications/<str:pk>/", VerificationDetailView.as_view(), name="verification-detail"),
    path(
        "verifications/<str:pk>/check/",
        VerificationCheckView.as_view(),
        name="verification-check",
    ),
]
