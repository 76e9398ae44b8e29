from django.urls import path
from rest_framework.routers import DefaultRouter

from targets.api.analytics import (
    AttainmentView,
    FunnelView,
    OutcomesView,
    PipelineValueView,
    PlannerView,
    StageWinRatesView,
)
from targets.api.views import PeriodViewSet, QuotaViewSet, TemplateViewSet, TierViewSet

router = DefaultRouter(trailing_slash=True)
router.register("periods", PeriodViewSet, basename="period")
router.register("targets", QuotaViewSet, basename="target")
router.register("templates", TemplateViewSet, basename="template")
router.register("tiers", TierViewSet, basename="tier")

urlpatterns = [
    path("funnel/", FunnelView.as_view(), name="funnel"),
    path("attainment/", AttainmentView.as_view(), name="attainment"),
    path("planner/", PlannerView.as_view(), name="planner"),
    path("outcomes/", OutcomesView.as_view(), name="outcomes"),
    path("pipeline-value/", PipelineValueView.as_view(), name="pipeline-value"),
    path("stage-win-rates/", StageWinRatesView.as_view(), name="stage-win-rates"),
    *router.urls,
]
