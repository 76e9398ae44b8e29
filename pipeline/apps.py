from django.apps import AppConfig


class PipelineConfig(AppConfig):
    name = "pipeline"
    verbose_name = "Pipeline"

    def ready(self) -> None:
        # Every save or delete of a deal renews the version of the API's cached deal counts, in every process.
        from pipeline import deal_counts  # noqa: F401
