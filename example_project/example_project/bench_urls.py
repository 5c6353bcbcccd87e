"""The example project's URLs plus a bare view: the yardstick of the callback benchmark.

Served when ``DJANGO_ROOT_URLCONF=example_project.bench_urls`` (``make bench`` does).
"""

from django.http import HttpRequest, HttpResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

from .urls import urlpatterns as project_urlpatterns


@csrf_exempt
def bare_callback(request: HttpRequest, token: str) -> HttpResponse:
    """Reads the body and answers 200, nothing else: the cost of Django and the server alone."""
    request.body  # noqa: B018 - read, as the callback view reads it
    return HttpResponse(b'{"verdict": "bare"}', content_type="application/json")


urlpatterns = [
    *project_urlpatterns,
    path("bench/bare/<str:token>/", bare_callback),
]
