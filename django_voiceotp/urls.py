"""URLs of the app: ``path("voiceotp/", include("django_voiceotp.urls"))``."""

from django.urls import path

from .views import CallbackView

app_name = "django_voiceotp"

urlpatterns = [
    path("callbacks/<str:token>/", CallbackView.as_view(), name="callback"),
]
