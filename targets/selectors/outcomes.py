"""Outcomes, pipeline value, staleness and observed stage win rates of a scope."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.core.cache import cache
from django.db.models import Count, Q, QuerySet
from django.db.models.functions import Coalesce
from django.utils import timezone

from pipeline.models import ENTRY_KINDS, Deal, DealStatus, Stage, StageConfig, StageTransition
from targets.models import ScopeType
from targets.periods import Period, org_today
from targets.selectors import sql
from targets.selectors.funnel import grouping_for, window
from targets.selectors.results import ratio
from targets.selectors.scope import Scope

# Observed vs configured probability differing by more than this many percentage points is flagged.
WIN_RATE_DRIFT_POINTS = 10


@dataclass(frozen=True)
class Outcomes:
    won_count: int
    won_amount: Decimal
    lost_count: int
    win_rate: float | None  # won / (won + lost), closed in the period
    lost_reasons: dict[str, int]


def outcomes(*, scope: Scope, period: Period, as_of: date | None = None) -> Outcomes:
    """Deals won and lost in the period (by the owner at closing), win rate and lost-reason mix. 3 queries."""
    g = grouping_for(scope, scope.team_ids())
    start, cutoff = window(period, as_of or org_today())
    won, amount, lost = sql.outcome_counts(g, start=start, cutoff=cutoff).get(scope.id, (0, 0, 0))
    reasons = {code: n for (sid, code), n in sql.lost_reason_counts(g, start=start, cutoff=cutoff).items()}
    return Outcomes(won, Decimal(str(amount)).quantize(Decimal("0.01")), lost, ratio(won, won + lost), reasons)


def weighted_pipeline(*, scope: Scope) -> dict[str, Decimal]:
    """Open deals now, Σ amount × stage probability by expected close month (``''``: no close date)."""
    g = grouping_for(scope, scope.team_ids())
    rows = sql.pipeline_by_month(g)
    return {
        month: Decimal(str(value)).quantize(Decimal("0.01"))
        for (_sid, month), value in sorted(rows.items(), key=lambda kv: (kv[0][1] == "", kv[0][1]))
    }


def _scope_q(scope: Scope, prefix: str = "") -> Q:
    if scope.type == ScopeType.USER:
        return Q(**{f"{prefix}owner_id": scope.id})
    if scope.type == ScopeType.TEAM:
        return Q(**{f"{prefix}team_id__in": scope.team_ids()})
    return Q()


def stale_q(*, now=None) -> Q:  # type: ignore[no-untyped-def]
    """Open deals with no activity (or, never touched, no creation) for their stage's ``stale_days``."""
    now = now or timezone.now()
    q = Q(pk__in=[])
    for stage, days in StageConfig.objects.filter(stale_days__isnull=False).values_list("stage", "stale_days"):
        cutoff = now - timedelta(days=days or 0)
        q |= Q(stage=stage) & (
            Q(last_activity_at__lt=cutoff) | (Q(last_activity_at__isnull=True) & Q(created_at__lt=cutoff))
        )
    return Q(status=DealStatus.OPEN) & q


def stale_deals(*, scope: Scope) -> QuerySet[Deal]:
    """Open deals of the scope (current owner/team) that have gone quiet, the quietest first."""
    return (
        Deal.objects.filter(stale_q())
        .filter(_scope_q(scope))
        .select_related("owner", "team", "account")
        .order_by(Coalesce("last_activity_at", "created_at").asc(), "pk")
    )


@dataclass(frozen=True)
class StageWinRate:
    stage: str
    configured_probability: int
    observed: float | None  # of closed deals that ever entered the stage, share won
    closed_sample: int
    drift: bool


# Observed win rates change slowly and are read over the whole history: kept this long per scope.
WIN_RATES_CACHE_SECONDS = 15 * 60


def stage_win_rates(*, scope: Scope, fresh: bool = False) -> list[StageWinRate]:
    """Observed win rate per rung next to its configured probability, over the scope's deals (by current
    owner/team; the organisation: all). The observed rate is taken over deals that entered the rung at
    some time and are closed now (won or lost): open deals have no outcome yet. Drift = more than
    WIN_RATE_DRIFT_POINTS points apart. The observed counts are cached per scope for
    WIN_RATES_CACHE_SECONDS (one pass over the history; ``fresh`` recounts and refills the cache); the
    configured probabilities are read live."""
    key = f"stage-win-rates:{scope.type}:{scope.id}"
    observed = None if fresh else cache.get(key)
    if observed is None:
        closed = [DealStatus.WON, DealStatus.LOST]
        agg = (
            StageTransition.objects.filter(kind__in=ENTRY_KINDS, deal__status__in=closed)
            .filter(_scope_q(scope, prefix="deal__"))
            .values("to_stage")
            .annotate(
                closed=Count("deal", distinct=True),
                won=Count("deal", distinct=True, filter=Q(deal__status=DealStatus.WON)),
            )
        )
        observed = {row["to_stage"]: (row["won"], row["closed"]) for row in agg}
        cache.set(key, observed, WIN_RATES_CACHE_SECONDS)
    configured = dict(StageConfig.objects.values_list("stage", "probability"))
    result = []
    for stage in Stage.values:
        won, n = observed.get(stage, (0, 0))
        rate = ratio(won, n)
        prob = configured.get(stage, 0)
        drift = rate is not None and abs(rate * 100 - prob) > WIN_RATE_DRIFT_POINTS
        result.append(StageWinRate(stage, prob, rate, n, drift))
    return result
