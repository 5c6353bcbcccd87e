from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    # The simulated provider, so the demo needs no account. Never mount it in production.
    path("sandbox/", include("django_voiceotp.sandbox.urls")),
    path("voiceotp/", include("django_voiceotp.urls")),
    # The language switch of the demo page (LocaleMiddleware also honours Accept-Language).
    path("i18n/", include("django.conf.urls.i18n")),
    path("", include("demo.urls")),
]
