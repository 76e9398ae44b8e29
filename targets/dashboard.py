"""Reads behind the team dashboard, composed from the counting primitives of ``targets.selectors``.

The dashboard shows a team's funnel and its reps × stages attainment on one page. Calling ``funnel()``
and ``attainment()`` one after the other would run the team's quota, rep and team-closure queries twice
and compute a median the page does not show, so ``team_dashboard`` assembles the same figures from the
same SQL (``sql.entered_counts``, ``sql.cohort_counts``) and the same arithmetic (``build_stages``,
``attainment_row``) in five queries whatever the team size. ``tests/web/test_dashboard.py`` checks that
the figures equal what ``funnel()`` and ``attainment()`` answer.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.db.models import Q, QuerySet
from django.utils.translation import gettext

from pipeline.models import ENTRY_KINDS, Deal, LostReason, Stage, StageTransition
from pipeline.selectors import deal_scope_q
from salesladder.org.models import Team, User
from targets.models import IncentiveTier, Quota
from targets.periods import Period, org_today
from targets.quota_selectors import TierStanding, tier_standing, tiers_for
from targets.selectors import sql
from targets.selectors.funnel import end_of_day, scope_reps, window
from targets.selectors.outcomes import Outcomes, StageWinRate, outcomes, stage_win_rates, stale_deals, weighted_pipeline
from targets.selectors.results import AttainmentRow, StageFigures, attainment_row, build_stages
from targets.selectors.scope import Scope

STAGES: list[str] = list(Stage.values)
TREND_PERIODS = 6
STALE_LISTED = 50


def descendants(team_id: int, parents: dict[int, int | None]) -> set[int]:
    """A team and its sub-teams from an in-memory ``{team: parent}`` map (teams are few)."""
    children: dict[int | None, list[int]] = {}
    for pk, parent in parents.items():
        children.setdefault(parent, []).append(pk)
    seen: set[int] = set()
    stack = [team_id]
    while stack:
        pk = stack.pop()
        if pk not in seen:
            seen.add(pk)
            stack.extend(children.get(pk, ()))
    return seen


@dataclass(frozen=True)
class RepRow:
    user_id: int
    username: str
    cells: list[AttainmentRow]


@dataclass(frozen=True)
class TeamDashboard:
    team: Team
    period: Period
    as_of: date
    elapsed_share: float
    stages: list[StageFigures]
    overall_conversion: float | None
    cohort_size: int
    reps: list[RepRow]
    totals: list[AttainmentRow]


def team_dashboard(*, team: Team, team_ids: set[int], period: Period, as_of: date | None = None) -> TeamDashboard:
    """Funnel (flow and cohort) and attainment of ``team`` (with the sub-teams ``team_ids``). Five queries."""
    as_of = as_of or org_today()
    scope = Scope.for_team(team)
    reps = scope_reps(scope, team_ids)
    rep_ids = [pk for pk, _name in reps]
    start, cutoff = window(period, as_of)
    group = sql.group_team(team.pk, team_ids)
    per_rep = sql.entered_counts(sql.group_users(rep_ids), start=start, cutoff=cutoff)
    entered = {stage: n for (_sid, stage), n in sql.entered_counts(group, start=start, cutoff=cutoff).items()}
    cohort = {
        stage: n
        for (_sid, stage), n in sql.cohort_counts(
            group, start=start, cutoff=cutoff, reached_by=end_of_day(as_of)
        ).items()
    }
    # The reps' quota rows and the team's own, in one query. A team's quota: its explicit rows, else the
    # sum of its reps' (the rule of targets.selectors.quotas).
    quotas: dict[tuple[int, str], int] = {}
    explicit: dict[str, int] = {}
    summed: dict[str, int] = {}
    quota_rows = Quota.objects.filter(Q(user_id__in=rep_ids) | Q(team_id=team.pk), period=period.key)
    for user_id, stage, value in quota_rows.values_list("user_id", "stage", "value"):
        if user_id is None:
            explicit[stage] = value
        else:
            quotas[(user_id, stage)] = value
            summed[stage] = summed.get(stage, 0) + value
    team_quota = {**summed, **explicit}
    stages, overall, cohort_size = build_stages(
        entered=entered, cohort=cohort, quota=team_quota, median={}, stages=STAGES
    )
    elapsed = period.elapsed_share(as_of)
    rows = [
        RepRow(
            user_id=pk,
            username=name,
            cells=[
                attainment_row(
                    user=pk,
                    label=name,
                    stage=s,
                    quota=quotas.get((pk, s)),
                    entered=per_rep.get((pk, s), 0),
                    elapsed=elapsed,
                )
                for s in STAGES
            ],
        )
        for pk, name in reps
    ]
    totals = [
        attainment_row(
            user=None,
            label=team.name,
            stage=s,
            quota=team_quota.get(s),
            entered=entered.get(s, 0),
            elapsed=elapsed,
        )
        for s in STAGES
    ]
    return TeamDashboard(team, period, as_of, elapsed, stages, overall, cohort_size, rows, totals)


@dataclass(frozen=True)
class TrendRow:
    period: Period
    entered: dict[str, int]


def team_trend(*, team: Team, team_ids: set[int], period: Period, n: int = TREND_PERIODS) -> list[TrendRow]:
    """entered(s) of the team in each of the ``n`` periods ending with ``period``, oldest first. One query."""
    today = org_today()
    periods = period.last(n)
    windows = {i: window(p, today) for i, p in enumerate(periods)}
    begun = {i: w for i, w in windows.items() if w[0] < w[1]}  # a period that has not begun counts nothing
    order = sorted(begun)
    counts = sql.entered_counts_by_window(sql.group_team(team.pk, team_ids), windows=[begun[i] for i in order])
    by_period = {i: counts[k] for k, i in enumerate(order)}
    return [TrendRow(p, {s: by_period.get(i, {}).get((team.pk, s), 0) for s in STAGES}) for i, p in enumerate(periods)]


@dataclass(frozen=True)
class TierRow:
    user_id: int
    username: str
    signings: int
    won_amount: Decimal
    standings: dict[str, TierStanding]  # per measure that has tiers


def team_tiers(*, team: Team, team_ids: set[int], period: Period) -> tuple[list[IncentiveTier], list[TierRow]]:
    """The tiers that apply to the team in ``period`` and each rep's standing on them. Four queries."""
    tiers = tiers_for(period=period, team=team)
    reps = scope_reps(Scope.for_team(team), team_ids)
    start, cutoff = window(period, org_today())
    won = sql.outcome_counts(sql.group_users([pk for pk, _n in reps]), start=start, cutoff=cutoff)
    measures: dict[str, list[IncentiveTier]] = {}
    for tier in tiers:
        measures.setdefault(tier.measure, []).append(tier)
    rows = []
    for pk, name in reps:
        signings, amount, _lost = won.get(pk, (0, 0, 0))
        amount = Decimal(str(amount or 0)).quantize(Decimal("0.01"))
        values = {"signings": Decimal(signings), "won_amount": amount}
        rows.append(
            TierRow(
                user_id=pk,
                username=name,
                signings=signings,
                won_amount=amount,
                standings={m: tier_standing(value=values[m], tiers=ts) for m, ts in measures.items()},
            )
        )
    return tiers, rows


def team_stale_deals(*, team: Team) -> QuerySet[Deal]:
    return stale_deals(scope=Scope.for_team(team))


def entered_deal_ids(
    *,
    stage: str,
    start: datetime,
    cutoff: datetime,
    team_ids: Iterable[int] | None = None,
    user_id: int | None = None,
) -> QuerySet[StageTransition, Any]:
    """The deals behind an entered(s) figure: entries into ``stage`` in ``[start, cutoff)`` attributed (by the
    owner or team at that moment) to the rep or teams. Distinct deal ids, as the count is of distinct deals."""
    qs = StageTransition.objects.filter(
        kind__in=ENTRY_KINDS, to_stage=stage, occurred_at__gte=start, occurred_at__lt=cutoff
    )
    if user_id is not None:
        qs = qs.filter(owner_id=user_id)
    if team_ids is not None:
        qs = qs.filter(team_id__in=list(team_ids))
    return qs.values("deal_id").distinct()


def cohort_deal_ids(
    *, stage: str, start: datetime, cutoff: datetime, reached_by: datetime, team_ids: Iterable[int]
) -> QuerySet[StageTransition, Any]:
    """Of the deals entering ``prep`` in the window for the teams, those in ``stage`` before ``reached_by``."""
    cohort = entered_deal_ids(stage=Stage.PREP, start=start, cutoff=cutoff, team_ids=team_ids)
    return (
        StageTransition.objects.filter(
            kind__in=ENTRY_KINDS, to_stage=stage, occurred_at__lt=reached_by, deal_id__in=cohort
        )
        .values("deal_id")
        .distinct()
    )


def drill_deals(
    *, viewer: User, stage: str, period: Period, team_ids: Iterable[int], rep_id: int | None, cohort: bool
) -> tuple[QuerySet[Deal], int]:
    """The deals behind one dashboard figure that ``viewer`` may still see (newest change first), and how
    many of the figure's deals have since left the viewer's reach (counted, not listed: their current data
    belongs to another team). The figure is the entries into ``stage`` in ``period`` for the rep
    ``rep_id`` or for ``team_ids``; with ``cohort`` (team figures only) the period's prep cohort that has
    reached ``stage`` by today."""
    start, cutoff = window(period, org_today())
    if cohort and rep_id is None:
        ids = cohort_deal_ids(
            stage=stage, start=start, cutoff=cutoff, reached_by=end_of_day(org_today()), team_ids=team_ids
        )
    elif rep_id is not None:
        ids = entered_deal_ids(stage=stage, start=start, cutoff=cutoff, user_id=rep_id)
    else:
        ids = entered_deal_ids(stage=stage, start=start, cutoff=cutoff, team_ids=team_ids)
    scope = deal_scope_q(user=viewer)
    behind = Deal.objects.filter(pk__in=ids)
    outside = 0 if scope is None else behind.exclude(scope).count()
    deals = behind if scope is None else behind.filter(scope)
    return deals.select_related("account", "owner", "team").order_by("-updated_at", "-pk"), outside


@dataclass(frozen=True)
class TeamOutcomes:
    """What the team's period closed (won, lost, win rate, why deals were lost) and what its open deals
    are worth now, weighted by their rung's probability, by expected close month."""

    outcomes: Outcomes
    lost_reasons: list[tuple[str, int, float]]  # (label, deals, share of the lost), most frequent first
    pipeline: list[tuple[date | None, Decimal]]  # (first day of the close month or None: no date, value)
    pipeline_total: Decimal


def lost_reason_labels(codes: Iterable[str]) -> dict[str, str]:
    """``{code: label}`` in the user's language; a reason no longer configured shows its code, a deal lost
    without one (old data, the admin) "No reason given". One query (none without codes)."""
    codes = list(codes)
    labels = {r.code: r.label for r in LostReason.objects.filter(code__in=[c for c in codes if c])}
    return {code: labels.get(code) or code or gettext("No reason given") for code in codes}


def lost_reason_rows(counts: Mapping[str, int]) -> list[tuple[str, str, int]]:
    """``(code, label, deals)`` of ``{code: deals}``, the one order of every lost-reason list (dashboard and
    API): most deals first, equal counts by the label as shown to the user (in their language), then by code
    (two reasons labelled alike). One query, as ``lost_reason_labels``."""
    labels = lost_reason_labels(counts)
    rows = [(code, labels[code], n) for code, n in counts.items()]
    return sorted(rows, key=lambda row: (-row[2], row[1], row[0]))


def team_outcomes(*, team: Team, period: Period) -> TeamOutcomes:
    scope = Scope.for_team(team)
    result = outcomes(scope=scope, period=period)
    lost_total = sum(result.lost_reasons.values())
    reasons = [(label, n, n / lost_total) for _code, label, n in lost_reason_rows(result.lost_reasons)]
    by_month = weighted_pipeline(scope=scope)
    pipeline = [(date.fromisoformat(f"{m}-01") if m else None, v) for m, v in by_month.items()]
    return TeamOutcomes(result, reasons, pipeline, sum(by_month.values(), Decimal("0.00")))


def calibration(*, team: Team) -> list[StageWinRate]:
    """Each rung's observed win rate over the team's deals (with sub-teams) next to its configured probability."""
    return stage_win_rates(scope=Scope.for_team(team))
