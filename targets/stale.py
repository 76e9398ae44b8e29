"""Stale flags of the nightly run: open deals with no activity (or, never touched, no creation) for longer
than their stage's ``stale_days`` are flagged, the rest unflagged.

Two UPDATEs over all stages, leaving ``updated_at`` alone (a flag is not an edit). Each reads only the
deals whose flag changes, through a partial index: the deals to flag by one range of
``deal_stale_clock_idx`` per stage (glued with UNION ALL — written as one OR, PostgreSQL scans the whole
index: it takes "old" and "unflagged" for independent and expects ~70 k deals where a night finds a
handful), the deals to unflag by ``deal_stale_flagged_idx``. No per-deal loop.
"""

from __future__ import annotations

from datetime import date, timedelta
from functools import reduce
from typing import Any

from django.db import connection
from django.db.models import Q, QuerySet
from django.db.models.functions import Coalesce
from django.utils import timezone

from pipeline.models import Deal, DealStatus, StageConfig
from targets import nightly_ledger
from targets.periods import org_today
from targets.selectors.funnel import STAGES, end_of_day


def stale_flags_update(*, as_of: date | None = None) -> int:
    """Set the flags as of now, or the end of ``as_of`` if that is yesterday or today (a backfill of an
    older day does not rewind them). The open-deal ledger follows the flipped deals. Returns rows changed."""
    now = timezone.now()
    at = min(now, end_of_day(as_of)) if as_of and as_of >= org_today() - timedelta(days=1) else now
    days = dict(StageConfig.objects.filter(stale_days__isnull=False).values_list("stage", "stale_days"))
    cutoffs = {stage: at - timedelta(days=d or 0) for stage, d in days.items()}
    deals = Deal.objects.alias(clock=Coalesce("last_activity_at", "created_at")).order_by()
    awake = Q(status__in=[DealStatus.WON, DealStatus.LOST])
    unconfigured = [s for s in STAGES if s not in cutoffs]
    if unconfigured:
        awake |= Q(status=DealStatus.OPEN, stage__in=unconfigured)
    for stage, cutoff in cutoffs.items():
        awake |= Q(status=DealStatus.OPEN, stage=stage, clock__gte=cutoff)
    flipped: list[int] = []
    if cutoffs:
        quiet = [
            deals.filter(status=DealStatus.OPEN, is_stale=False, stage=stage, clock__lt=cutoff).values("pk")
            for stage, cutoff in cutoffs.items()
        ]
        flipped += _set_stale(reduce(lambda a, b: a.union(b, all=True), quiet), True)
    flipped += _set_stale(deals.filter(awake, is_stale=True).values("pk"), False)
    if flipped and nightly_ledger.last_mark() is not None and nightly_ledger.is_complete():
        # the open-deal ledger follows the flags (no updated_at here); an incomplete one is rebuilt by the run
        nightly_ledger.apply(flipped)
    return len(flipped)


def _set_stale(ids: QuerySet[Any], value: bool) -> list[int]:
    """``UPDATE … SET is_stale`` of the deals whose ids ``ids`` selects; returns their ids (RETURNING)."""
    select, params = ids.query.sql_with_params()
    table = Deal._meta.db_table
    with connection.cursor() as cursor:
        # an array on PostgreSQL: the few ids first (partial indexes), then primary-key look-ups
        match = f"= ANY(ARRAY({select}))" if connection.vendor == "postgresql" else f"IN ({select})"
        cursor.execute(f"UPDATE {table} SET is_stale = %s WHERE id {match} RETURNING id", [value, *params])
        return [int(r[0]) for r in cursor.fetchall()]
