from django.urls import path
from rest_framework.routers import DefaultRouter

from salesladder.org.api.views import MeView, TeamViewSet, UserViewSet

router = DefaultRouter(trailing_slash=True)
router.register("teams", TeamViewSet, basename="team")
router.register("users", UserViewSet, basename="user")

urlpatterns = [path("me/", MeView.as_view(), name="me"), *router.urls]
