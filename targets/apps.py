from typing import Any

from django.apps import AppConfig


class TargetsConfig(AppConfig):
    name = "targets"
    verbose_name = "Targets"

    def ready(self) -> None:
        from django.db.models.signals import post_delete

        from pipeline.models import Deal

        post_delete.connect(_deal_deleted, sender=Deal, dispatch_uid="targets_deal_deleted")


def _deal_deleted(**_kwargs: Any) -> None:
    """A deleted deal takes its history with it, which no incremental nightly run can see: count it, so
    the next run is full (``targets.nightly_ledger.count_deletion``)."""
    from targets.nightly_ledger import count_deletion

    count_deletion()
