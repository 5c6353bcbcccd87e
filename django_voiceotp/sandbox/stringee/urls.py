"""URL patterns of the simulated Stringee API: the documented path exactly, and ``_sandbox/``."""

from django.urls import path

from . import views

app_name = "voiceotp_stringee_sandbox"

urlpatterns = [
    path("v1/call2/callout", views.callout, name="callout"),
    path("_sandbox/calls", views.calls, name="calls"),
    path("_sandbox/faults", views.faults, name="faults"),
    path("_sandbox/reset", views.reset, name="reset"),
]
