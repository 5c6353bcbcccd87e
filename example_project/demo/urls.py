"""The demo page and its small JSON endpoints."""

from django.urls import path

from . import views

app_name = "demo"

urlpatterns = [
    path("", views.index, name="index"),
    path("demo/calls/", views.start_call, name="start_call"),
    path("demo/calls/<int:call_id>/", views.call_status, name="call_status"),
    path("demo/verify/", views.verify, name="verify"),
    path("favicon.ico", views.favicon, name="favicon"),
]
