from django.contrib import admin
from django.urls import include, path

from django_voiceotp.metrics import metrics_view

urlpatterns = [
    path("admin/", admin.site.urls),
    path("sandbox/", include("django_voiceotp.sandbox.urls")),
    path("esms-sandbox/", include("django_voiceotp.sandbox.esms.urls")),
    path("stringee-sandbox/", include("django_voiceotp.sandbox.stringee.urls")),
    path("voiceotp/", include("django_voiceotp.urls")),
    path("voiceotp-metrics/", metrics_view),
]
