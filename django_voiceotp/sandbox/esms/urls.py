"""URL patterns of the simulated eSMS gateway: the documented paths exactly, and ``_sandbox/``."""

from django.urls import path

from . import views

app_name = "voiceotp_esms_sandbox"

urlpatterns = [
    path(
        "MainService.svc/json/SendMultipleMessage_V4_post_json/",
        views.send_message,
        name="send_message",
    ),
    path("MainService.svc/json/GetSendStatus", views.get_send_status, name="get_send_status"),
    path("_sandbox/messages", views.messages, name="messages"),
    path("_sandbox/faults", views.faults, name="faults"),
    path("_sandbox/reset", views.reset, name="reset"),
]
