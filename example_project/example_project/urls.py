from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    # The simulated provider, so the demo needs no account. Never mount it in production.
    path("sandbox/", include("django_voiceotp.sandbox.urls")),
    path("voiceotp/", include("django_voiceotp.urls")),
]
