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
    # The simulated providers (Pitel, Stringee) and SMS gateway (eSMS), so the demo needs no
    # account, and the demo page that shows what its phone hears and reads. Never in production:
    # DEBUG or VOICEOTP_SANDBOX=1 only (settings.py).
    urlpatterns += [
        path("sandbox/", include("django_voiceotp.sandbox.urls")),
        path("stringee-sandbox/", include("django_voiceotp.sandbox.stringee.urls")),
        path("esms-sandbox/", include("django_voiceotp.sandbox.esms.urls")),
        path("", include("demo.urls")),
    ]
