from django.urls import include, path

from tests.urls import urlpatterns as base_urlpatterns

urlpatterns = [
    *base_urlpatterns,
    path("accounts/", include("allauth.urls")),
    path("_allauth/", include("allauth.headless.urls")),
]
