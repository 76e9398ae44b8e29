"""Funnel and attainment of one scope and period.

``as_of=None`` (or today or later) computes live; a past ``as_of`` reads the nightly snapshot of that
day (see ``targets.selectors.snapshots``). Live and nightly use the same SQL (``targets.selectors.sql``),
so a snapshot is exactly what the live service answered at the end of that day.

Query counts do not depend on the size of the scope: funnel = 7 queries, attainment = 6.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from django.db.models import Q

from pipeline.models import Stage
from salesladder.org.models import Membership, Role, User
from targets import watermark
from targets.models import FunnelSnapshot, NightlyRun, ScopeType
from targets.periods import Period, org_today, org_tz
from targets.selectors import sql
from targets.selectors.quotas import scope_quota, user_quotas
from targets.selectors.results import (
    AttainmentResult,
    FunnelResult,
    attainment_row,
    build_stages,
)
from targets.selectors.scope import Scope
from targets.selectors.signature import current_signature

STAGES = list(Stage.values)


def end_of_day(day: date) -> datetime:
    """Midnight after ``day`` in the organisation's time zone: "as of the end of ``day``"."""
    return datetime.combine(day + timedelta(days=1), time.min, org_tz())


def is_live(as_of: date | None) -> bool:
    return as_of is None or as_of >= org_today()


def window(period: Period, as_of: date) -> tuple[datetime, datetime]:
    """``[period start, min(period end, end of as_of))``."""
    start, end = period.bounds()
    return start, min(end, end_of_day(as_of))


def grouping_for(scope: Scope, team_ids: set[int]) -> sql.Grouping:
    if scope.type == ScopeType.USER:
        return sql.group_users([scope.id])
    if scope.type == ScopeType.TEAM:
        return sql.group_team(scope.id, team_ids)
    return sql.group_org()


def _by_stage(values: dict[tuple[int, str], int] | dict[tuple[int, str], float], scope_id: int) -> dict:
    return {stage: v for (sid, stage), v in values.items() if sid == scope_id}


def funnel(*, scope: Scope, period: Period, as_of: date | None = None) -> FunnelResult:
    """Entered per stage, flow conversion, cohort conversion, quota, attainment, median days in stage."""
    if not is_live(as_of):
        from targets.selectors.snapshots import funnel_snapshot

        assert as_of is not None
        return funnel_snapshot(scope=scope, period=period, as_of=as_of)
    as_of = as_of or org_today()
    team_ids = scope.team_ids()
    g = grouping_for(scope, team_ids)
    start, cutoff = window(period, as_of)
    base = latest_base(period=period, as_of=as_of)
    rows = _base_rows(base, period, [(scope.type, scope.id)]) if base else {}
    medians_as_of = None
    if rows:  # last night's figures + what happened since (exact: the history is append-only)
        assert base is not None
        since: dict[str, Any] = {"max_id": base.max_id, "prev_cutoff": end_of_day(base.as_of)}
        entered = _plus(rows, scope, "entered", sql.entered_delta(g, start=start, cutoff=cutoff, **since))
        reached = sql.cohort_delta(g, start=start, cutoff=cutoff, reached_by=end_of_day(as_of), **since)
        cohort = _plus(rows, scope, "cohort_reached", reached)
        median = {st: r.median_days_in_stage for (_t, _i, st), r in rows.items() if r.median_days_in_stage is not None}
        medians_as_of = base.as_of
    else:
        entered = _by_stage(sql.entered_counts(g, start=start, cutoff=cutoff), scope.id)
        cohort = _by_stage(sql.cohort_counts(g, start=start, cutoff=cutoff, reached_by=end_of_day(as_of)), scope.id)
        median = _by_stage(sql.median_days(g, start=start, cutoff=cutoff), scope.id)
    quota = scope_quota(scope=scope, period=period, team_ids=team_ids)
    stages, overall, cohort_size = build_stages(
        entered=entered, cohort=cohort, quota=quota, median=median, stages=STAGES
    )
    return FunnelResult(scope, period, as_of, stages, overall, cohort_size, medians_as_of=medians_as_of)


@dataclass(frozen=True)
class Base:
    as_of: date
    max_id: int


def latest_base(*, period: Period, as_of: date) -> Base | None:
    """The latest finished nightly run whose snapshots can seed live figures of ``period``: None when its
    signature (team tree, probabilities, deleted deals) is not today's, since a team moved in the tree or a
    deal deleted since changes figures no delta of new transitions shows; then the figures are computed
    from the history. Two queries (one without a run)."""
    run = (
        NightlyRun.objects.filter(
            finished_at__isnull=False,
            run_date__lte=as_of,
            run_date__gte=period.start,
            stats__has_key="max_transition_id",
        )
        .order_by("-run_date")
        .first()
    )
    seen = watermark.from_stats(run.stats) if run else None
    if run is None or seen is None or run.stats.get("universe") != current_signature():
        return None
    return Base(run.run_date, seen)


def _base_rows(base: Base, period: Period, scopes: list[tuple[str, int]]) -> dict[tuple[str, int, str], FunnelSnapshot]:
    """The base run's rows of these scopes, or {} unless every scope has them (then compute in full)."""
    q = Q(pk__in=[])
    for scope_type, scope_id in scopes:
        q |= Q(scope_type=scope_type, scope_id=scope_id)
    rows = FunnelSnapshot.objects.filter(q, period=period.key, as_of=base.as_of).defer("stay_buckets")
    found = {(r.scope_type, r.scope_id, r.stage): r for r in rows}
    return found if len({k[:2] for k in found}) == len(set(scopes)) else {}


def _plus(rows: dict, scope: Scope, field: str, delta: dict[tuple[int, str], int]) -> dict[str, int]:
    return {s: getattr(rows[(scope.type, scope.id, s)], field, 0) + delta.get((scope.id, s), 0) for s in STAGES}


def scope_reps(scope: Scope, team_ids: set[int]) -> list[tuple[int, str]]:
    """``[(user id, username)]`` whose rows an attainment table shows (a team: its reps and its
    sub-teams' reps; the organisation: every rep). One query."""
    if scope.type == ScopeType.USER:
        qs = User.objects.filter(pk=scope.id)
    else:
        reps = Membership.objects.filter(role=Role.REP)
        if scope.type == ScopeType.TEAM:
            reps = reps.filter(team_id__in=team_ids)
        qs = User.objects.filter(pk__in=reps.values("user_id"))
    return list(qs.order_by("username").values_list("pk", "username"))


def attainment(*, scope: Scope, period: Period, as_of: date | None = None) -> AttainmentResult:
    """Per rep × stage: quota, entered, attainment and pace; plus the scope's totals (for a team, its
    own entered count, where a deal handed between two of its reps counts once, and its quota)."""
    if not is_live(as_of):
        from targets.selectors.snapshots import attainment_snapshot

        assert as_of is not None
        return attainment_snapshot(scope=scope, period=period, as_of=as_of)
    as_of = as_of or org_today()
    team_ids = scope.team_ids()
    reps = scope_reps(scope, team_ids)
    rep_ids = [pk for pk, _name in reps]
    start, cutoff = window(period, as_of)
    base = latest_base(period=period, as_of=as_of)
    keys = [(ScopeType.USER.value, pk) for pk in rep_ids] + [(scope.type, scope.id)]
    base_rows = _base_rows(base, period, keys) if base else {}
    since: dict[str, Any] | None = (
        {"max_id": base.max_id, "prev_cutoff": end_of_day(base.as_of)} if base_rows and base else None
    )
    if since:  # last night's rows + the deals that newly qualify since (see funnel)
        delta = sql.entered_delta(sql.group_users(rep_ids), start=start, cutoff=cutoff, **since)
        per_rep = {
            (pk, s): base_rows[(ScopeType.USER, pk, s)].entered + delta.get((pk, s), 0)
            for pk in rep_ids
            for s in STAGES
        }
    else:
        per_rep = sql.entered_counts(sql.group_users(rep_ids), start=start, cutoff=cutoff)
    quotas = user_quotas(period=period, user_ids=rep_ids)
    elapsed = period.elapsed_share(as_of)
    rows = [
        attainment_row(
            user=pk,
            label=name,
            stage=s,
            quota=quotas.get((pk, s)),
            entered=per_rep.get((pk, s), 0),
            elapsed=elapsed,
        )
        for pk, name in reps
        for s in STAGES
    ]
    if scope.type == ScopeType.USER:
        totals_entered = _by_stage(per_rep, scope.id)
        totals_quota = {s: q for (pk, s), q in quotas.items() if pk == scope.id}
    else:
        g = grouping_for(scope, team_ids)
        if since:
            totals_entered = _plus(
                base_rows, scope, "entered", sql.entered_delta(g, start=start, cutoff=cutoff, **since)
            )
        else:
            totals_entered = _by_stage(sql.entered_counts(g, start=start, cutoff=cutoff), scope.id)
        totals_quota = scope_quota(scope=scope, period=period, team_ids=team_ids)
    totals = [
        attainment_row(
            user=None,
            label=scope.label,
            stage=s,
            quota=totals_quota.get(s),
            entered=totals_entered.get(s, 0),
            elapsed=elapsed,
        )
        for s in STAGES
    ]
    return AttainmentResult(scope, period, as_of, elapsed, rows, totals)
