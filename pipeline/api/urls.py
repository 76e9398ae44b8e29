from rest_framework.routers import DefaultRouter

from pipeline.api.intake_views import LeadViewSet, RoutingRuleViewSet, WebhookViewSet
from pipeline.api.views import AccountViewSet, ActivityViewSet, ContactViewSet, DealViewSet

router = DefaultRouter(trailing_slash=True)
router.register("accounts", AccountViewSet, basename="account")
router.register("contacts", ContactViewSet, basename="contact")
router.register("deals", DealViewSet, basename="deal")
router.register("activities", ActivityViewSet, basename="activity")
router.register("leads", LeadViewSet, basename="lead")
router.register("webhooks", WebhookViewSet, basename="webhook")
router.register("routing-rules", RoutingRuleViewSet, basename="routing-rule")

urlpatterns = router.urls
