from django.urls import path
from health_check.views import HealthCheckView

from tests.urls import urlpatterns as base_urlpatterns

urlpatterns = [
    *base_urlpatterns,
    path(
        "health/",
        HealthCheckView.as_view(
            checks=[
                "django_voiceotp.contrib.health.Provider",
                "django_voiceotp.contrib.health.Sweeper",
                "django_voiceotp.contrib.health.Backlog",
            ]
        ),
        name="health",
    ),
]
