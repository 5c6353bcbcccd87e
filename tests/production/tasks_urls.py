"""URLs of the project in ``tasks_settings``: the app's callbacks and API, nothing else."""

from django.urls import include, path

urlpatterns = [path("voiceotp/", include("django_voiceotp.urls"))]
