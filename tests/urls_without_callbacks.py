"""A URLconf that forgot ``django_voiceotp.urls``, for the system check that notices."""

from django.contrib import admin
from django.urls import path

urlpatterns = [path("admin/", admin.site.urls)]
