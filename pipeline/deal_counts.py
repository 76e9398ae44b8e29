"""The version of the API's cached deal counts (``pipeline.api.deal_count``), renewed by every deal write.

A save or delete of a deal renews it through the model signals; the bulk path (``deals_bulk_create``:
lead intake, CSV imports) sends no signals and renews it itself, at once and again on commit (a count
cached while its transaction was open is dropped too). Lives outside the API package so the services can
call it. The version sits in the default cache: Redis (``CACHE_URL``) shares it between processes.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.core.cache import cache
from django.db import transaction
from django.db.models.signals import post_delete, post_save

from pipeline.models import Deal

VERSION_KEY = "deal-count:version"


def deal_count_version() -> str:
    version = cache.get(VERSION_KEY)
    if version is None:
        cache.add(VERSION_KEY, uuid.uuid4().hex, timeout=None)
        version = cache.get(VERSION_KEY) or "0"
    return version


def renew_deal_count_version() -> None:
    cache.set(VERSION_KEY, uuid.uuid4().hex, timeout=None)


def renew_deal_count_version_now_and_on_commit() -> None:
    renew_deal_count_version()
    transaction.on_commit(renew_deal_count_version)


def _deal_changed(sender: Any, **kwargs: Any) -> None:
    renew_deal_count_version()


post_save.connect(_deal_changed, sender=Deal, dispatch_uid="deal-count-version-save")
post_delete.connect(_deal_changed, sender=Deal, dispatch_uid="deal-count-version-delete")
