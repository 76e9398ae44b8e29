"""HTML pages of the targets app: the team dashboard and the quota editor with the planner."""

from django.urls import path

from targets.views import dashboard, quotas

urlpatterns = [
    path("dashboard/", dashboard.dashboard, name="dashboard"),
    path("dashboard/deals/", dashboard.dashboard_deals, name="dashboard_deals"),
    path("dashboard/section/<slug:section>/", dashboard.dashboard_section, name="dashboard_section"),
    path("dashboard/export/<slug:table>.csv", dashboard.dashboard_export, name="dashboard_export"),
    path("targets/", quotas.targets_page, name="targets"),
    path("targets/planner/", quotas.planner, name="targets_planner"),
]
