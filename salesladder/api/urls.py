"""``/api/v1/``: each app contributes its own router in ``<app>/api/urls.py``."""

from django.urls import include, path, re_path

from salesladder.api.views import not_found

urlpatterns = [
    path("", include("salesladder.org.api.urls")),
    path("", include("pipeline.api.urls")),
    path("", include("targets.api.urls")),
    path("", include("reviews.api.urls")),
    # Last: any other /api/v1/ path answers the API's JSON 404, not the HTML error page.
    re_path(r"^.*$", not_found),
]
