"""Readers of the nightly snapshots: a past ``as_of`` answers what the live service answered then."""

from __future__ import annotations

from datetime import date

from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from salesladder.errors import DomainError
from targets.models import FunnelSnapshot, ScopeType
from targets.periods import Period
from targets.selectors.results import AttainmentResult, FunnelResult, attainment_row, build_stages
from targets.selectors.scope import Scope


class SnapshotMissing(DomainError):
    """No nightly snapshot for that scope, period and day (404: the figures were never stored)."""

    status_code = 404


def _missing(period: Period, as_of: date) -> SnapshotMissing:
    return SnapshotMissing(
        {
            "as_of": [
                _("No snapshot of %(period)s exists for %(day)s; the nightly job had not run for that day.")
                % {"period": period.key, "day": as_of.isoformat()}
            ]
        }
    )


def funnel_snapshot(*, scope: Scope, period: Period, as_of: date) -> FunnelResult:
    from targets.selectors.funnel import STAGES

    rows = list(
        FunnelSnapshot.objects.filter(scope_type=scope.type, scope_id=scope.id, period=period.key, as_of=as_of).defer(
            "stay_buckets"
        )
    )
    if not rows:
        raise _missing(period, as_of)
    stages, overall, cohort_size = build_stages(
        entered={r.stage: r.entered for r in rows},
        cohort={r.stage: r.cohort_reached for r in rows},
        quota={r.stage: r.quota for r in rows if r.quota is not None},
        median={r.stage: r.median_days_in_stage for r in rows if r.median_days_in_stage is not None},
        stages=STAGES,
    )
    return FunnelResult(scope, period, as_of, stages, overall, cohort_size, source="snapshot")


def attainment_snapshot(*, scope: Scope, period: Period, as_of: date) -> AttainmentResult:
    from targets.selectors.funnel import STAGES, scope_reps

    reps = scope_reps(scope, scope.team_ids())
    rows = (
        FunnelSnapshot.objects.filter(period=period.key, as_of=as_of)
        .defer("stay_buckets")
        .filter(
            Q(scope_type=ScopeType.USER, scope_id__in=[pk for pk, _n in reps])
            | Q(scope_type=scope.type, scope_id=scope.id)
        )
    )
    found = {(r.scope_type, r.scope_id, r.stage): r for r in rows}
    if not any(key[:2] == (scope.type, scope.id) for key in found):
        raise _missing(period, as_of)
    elapsed = period.elapsed_share(as_of)

    def row(scope_type: str, scope_id: int, user: int | None, label: str, stage: str):  # type: ignore[no-untyped-def]
        snap = found.get((scope_type, scope_id, stage))
        return attainment_row(
            user=user,
            label=label,
            stage=stage,
            quota=snap.quota if snap else None,
            entered=snap.entered if snap else 0,
            elapsed=elapsed,
        )

    per_rep = [row(ScopeType.USER, pk, pk, name, s) for pk, name in reps for s in STAGES]
    totals = [row(scope.type, scope.id, None, scope.label, s) for s in STAGES]
    return AttainmentResult(scope, period, as_of, elapsed, per_rep, totals, source="snapshot")
