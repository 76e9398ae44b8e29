from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.http import HttpRequest, JsonResponse
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from salesladder.org.login_throttle import login_throttled, reset_throttled


def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


urlpatterns = [
    path("healthz", healthz, name="healthz"),
    # both login forms throttled against password guessing (before the routes they shadow)
    path("admin/login/", login_throttled(admin.site.login)),
    path("accounts/login/", login_throttled(auth_views.LoginView.as_view()), name="login"),
    path(
        "accounts/password_reset/",
        reset_throttled(auth_views.PasswordResetView.as_view()),
        name="password_reset",
    ),
    path("admin/", admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("accounts/", include("django.contrib.auth.urls")),
    path("api/v1/", include("salesladder.api.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    path(
        "api/redoc/", SpectacularRedocView.as_view(url_name="schema", template_name="api/redoc.html"), name="api-redoc"
    ),
    # HTML pages: the shell (home, profile) and each app's pages.
    path("", include("salesladder.org.urls")),
    path("", include("pipeline.urls")),
    path("", include("targets.urls")),
    path("", include("reviews.urls")),
    path("", include("pipeline.urls_imports")),
]
