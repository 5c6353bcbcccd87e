from django.conf import settings
from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("voiceotp/", include("django_voiceotp.urls")),
    # The language switch of the demo page (LocaleMiddleware also honours Accept-Language).
    path("i18n/", include("django.conf.urls.i18n")),
]

if settings.MOUNT_SANDBOX:
    # The simulated provider, so the demo needs no account, and the demo page that shows what its
    # phone hears. Never in production: DEBUG or VOICEOTP_SANDBOX=1 only (settings.py).
    urlpatterns += [
        path("sandbox/", include("django_voiceotp.sandbox.urls")),
        path("", include("demo.urls")),
    ]
