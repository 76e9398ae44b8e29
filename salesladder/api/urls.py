"""``/api/v1/``: each app contributes its own router in ``<app>/api/urls.py``."""

from django.urls import include, path

urlpatterns = [
    path("", include("salesladder.org.api.urls")),
    path("", include("pipeline.api.urls")),
    path("", include("targets.api.urls")),
    path("", include("reviews.api.urls")),
]
