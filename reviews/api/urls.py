from rest_framework.routers import DefaultRouter

from reviews.api.views import ActionItemViewSet, ReviewViewSet

router = DefaultRouter(trailing_slash=True)
router.register("reviews", ReviewViewSet, basename="review")
router.register("action-items", ActionItemViewSet, basename="action-item")

urlpatterns = router.urls
