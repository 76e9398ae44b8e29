"""``/api/v1/``: each app contributes its own router in ``<app>/api/urls.py``."""

from django.urls import include, path, re_path
from rest_framework.routers import APIRootView

from pipeline.api.urls import router as pipeline_router
from reviews.api.urls import router as reviews_router
from salesladder.api.views import not_found
from salesladder.org.api.urls import router as org_router
from targets.api.urls import router as targets_router

# One index of every endpoint at /api/v1/ (each app router's own root view would list only its part).
ANALYTICS = ("funnel", "attainment", "planner", "outcomes", "pipeline-value", "stage-win-rates")
ENDPOINTS = (
    {"me": "me"}
    | {name: name for name in ANALYTICS}
    | {
        prefix: f"{basename}-list"
        for router in (org_router, pipeline_router, targets_router, reviews_router)
        for prefix, _viewset, basename in router.registry
    }
)

urlpatterns = [
    path("", APIRootView.as_view(api_root_dict=dict(sorted(ENDPOINTS.items()))), name="api-root"),
    path("", include("salesladder.org.api.urls")),
    path("", include("pipeline.api.urls")),
    path("", include("targets.api.urls")),
    path("", include("reviews.api.urls")),
    # Last: any other /api/v1/ path answers the API's JSON 404, not the HTML error page.
    re_path(r"^.*$", not_found),
]
