"""URL patterns of the sandbox: the spec's paths exactly (no trailing slash) and ``_sandbox/``."""

from django.urls import path

from . import views

app_name = "voiceotp_sandbox"

urlpatterns = [
    path(
        "api/v1/users/generate_access_token",
        views.generate_access_token,
        name="generate_access_token",
    ),
    path("api/v1/campaigns/<str:campaign_id>/voiceotp", views.voiceotp, name="voiceotp"),
    path("api/v1/report/<str:call_id>", views.report, name="report"),
    path("_sandbox/calls", views.calls, name="calls"),
    path("_sandbox/faults", views.faults, name="faults"),
    path("_sandbox/reset", views.reset, name="reset"),
    path("_sandbox/scripts", views.scripts, name="scripts"),
    path("_sandbox/requests", views.requests_log, name="requests"),
    path("_sandbox/config", views.config, name="config"),
]
