"""Reads and aggregates of the targets app: funnel, attainment, outcomes, pipeline value, staleness.

Stable entry points (the API calls these):

- ``funnel(*, scope, period, as_of=None) -> FunnelResult``
- ``attainment(*, scope, period, as_of=None) -> AttainmentResult``
- ``outcomes(*, scope, period, as_of=None) -> Outcomes``
- ``weighted_pipeline(*, scope) -> dict[month, Decimal]``
- ``stale_deals(*, scope) -> QuerySet[Deal]``
- ``stage_win_rates(scope) -> list[StageWinRate]``
- ``funnel_snapshot`` / ``attainment_snapshot`` (a past ``as_of``; ``SnapshotMissing`` when absent)
- ``Scope`` (``Scope.from_params(request.query_params, viewer=request.user)``), ``ScopeNotFound``
"""

from targets.selectors.funnel import attainment, funnel
from targets.selectors.outcomes import (
    WIN_RATE_DRIFT_POINTS,
    Outcomes,
    StageWinRate,
    outcomes,
    stage_win_rates,
    stale_deals,
    weighted_pipeline,
)
from targets.selectors.results import (
    PACE_BEHIND,
    PACE_ON_TRACK,
    AttainmentResult,
    AttainmentRow,
    FunnelResult,
    PaceStatus,
    StageFigures,
)
from targets.selectors.scope import ORG_SCOPE_ID, Scope, ScopeNotFound
from targets.selectors.snapshots import SnapshotMissing, attainment_snapshot, funnel_snapshot

__all__ = [
    "ORG_SCOPE_ID",
    "PACE_BEHIND",
    "PACE_ON_TRACK",
    "WIN_RATE_DRIFT_POINTS",
    "AttainmentResult",
    "AttainmentRow",
    "FunnelResult",
    "Outcomes",
    "PaceStatus",
    "Scope",
    "ScopeNotFound",
    "SnapshotMissing",
    "StageFigures",
    "StageWinRate",
    "attainment",
    "attainment_snapshot",
    "funnel",
    "funnel_snapshot",
    "outcomes",
    "stage_win_rates",
    "stale_deals",
    "weighted_pipeline",
]
