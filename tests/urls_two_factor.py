"""The test URLs plus django-two-factor-auth's views, for the two-factor gateway's tests."""

from django.urls import include, path
from two_factor.urls import urlpatterns as two_factor_urls

from .urls import urlpatterns as base_urls

urlpatterns = [*base_urls, path("", include(two_factor_urls))]
