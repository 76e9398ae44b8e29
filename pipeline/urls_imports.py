"""Lead CSV import and quarantine pages (URL names without a namespace, like the other manager pages)."""

from django.urls import path

from pipeline.views import imports

urlpatterns = [
    path("leads/import/", imports.lead_import, name="lead_import"),
    path("leads/import/<int:pk>/mapping/", imports.lead_import_mapping, name="lead_import_mapping"),
    path("leads/import/<int:pk>/", imports.lead_import_job, name="lead_import_job"),
    path("leads/import/<int:pk>/errors.csv", imports.lead_import_errors, name="lead_import_errors"),
    path("leads/quarantine/", imports.quarantine, name="lead_quarantine"),
    path("leads/quarantine/<int:pk>/", imports.quarantine_retry, name="lead_quarantine_retry"),
    path("leads/quarantine/<int:pk>/discard/", imports.quarantine_discard, name="lead_quarantine_discard"),
]
