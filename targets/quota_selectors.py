"""Reads for quotas, templates and incentive tiers, and who may write them.

``quota_for`` answers a scope's ladder for a period: a rep's own rows; a team's explicit rows where
set and otherwise the sum of the quotas of every rep in the team and its sub-teams (explicit rows of
sub-teams do not roll up); the organisation's is the sum of every rep quota of the period.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Any

from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _

from pipeline.models import Stage
from salesladder.errors import DomainError
from salesladder.org.models import Membership, Role, Team, User
from salesladder.org.selectors import managed_team_ids, team_descendant_ids
from targets.models import IncentiveTier, Quota, QuotaTemplate, ScopeType, TierMeasure
from targets.periods import Period
from targets.selectors.quotas import scope_quota
from targets.selectors.scope import Scope

STAGES: list[str] = list(Stage.values)
MIN_YEAR, MAX_YEAR = 1970, 2999


def period_from_key(key: Any, *, field: str = "period") -> Period:
    """``Period.parse`` with a field-level error for every bad key (including years out of range)."""
    message = _("Use a month (2026-11), an ISO week (2026-W48) or a quarter (2026-Q4).")
    if not isinstance(key, str) or len(key) > 10:
        raise DomainError({field: [message]})
    try:
        period = Period.parse(key)
    except (DomainError, ValueError, OverflowError):
        raise DomainError({field: [message]}) from None
    if not (MIN_YEAR <= period.start.year <= MAX_YEAR):
        raise DomainError({field: [_("Use a year between %(lo)s and %(hi)s.") % {"lo": MIN_YEAR, "hi": MAX_YEAR}]})
    return period


def default_template() -> QuotaTemplate:
    template = QuotaTemplate.objects.filter(is_default=True).first()
    if template is None:
        raise DomainError({"template": [_("No default template is configured.")]})
    return template


def default_ladder() -> dict[str, int]:
    """The default template's quotas per stage (the source document's 100/50/20/10/5/3 unless edited)."""
    template = QuotaTemplate.objects.filter(is_default=True).first()
    if template is None:
        return {"prep": 100, "contact": 50, "needs": 20, "proposal": 10, "negotiation": 5, "signing": 3}
    return dict(template.lines.values_list("stage", "value"))


def quota_for(*, scope: Scope, period: Period) -> dict[str, int]:
    """``{stage: quota}`` for the stages that have one (a rep, a team or the organisation).

    The same figure the funnel and attainment use: one implementation, ``targets.selectors.quotas``.
    """
    team_ids = team_descendant_ids(team_ids=[scope.id]) if scope.type == ScopeType.TEAM else ()
    return scope_quota(scope=scope, period=period, team_ids=team_ids)


@dataclass(frozen=True)
class GridRow:
    user: User
    quotas: dict[str, int | None]


def team_reps(*, team: Team) -> QuerySet[User]:
    """Reps of the team and its sub-teams, by username."""
    team_ids = team_descendant_ids(team_ids=[team.pk])
    members = Membership.objects.filter(team_id__in=team_ids, role=Role.REP).values("user_id")
    return User.objects.filter(pk__in=members).order_by("username")


def quota_grid(*, team: Team, period: Period) -> list[GridRow]:
    """Reps × stages of a team (with sub-teams). Two queries whatever the team size: reps, then cells."""
    reps = list(team_reps(team=team))
    cells: dict[int, dict[str, int | None]] = {u.pk: dict.fromkeys(STAGES) for u in reps}
    for uid, stage, value in Quota.objects.filter(period=period.key, user_id__in=cells).values_list(
        "user_id", "stage", "value"
    ):
        cells[uid][stage] = value
    return [GridRow(user=u, quotas=cells[u.pk]) for u in reps]


# --- who may write -----------------------------------------------------------------------------


def quota_writable_team_ids(*, actor: User) -> set[int] | None:
    """Teams whose quotas (and reps' quotas) ``actor`` may set. ``None`` = every team (admins)."""
    if actor.is_superuser:
        return None
    return managed_team_ids(user=actor)


def can_write_team(*, actor: User, team: Team | None) -> bool:
    """Team rows, templates applied to a team, team tiers; ``team=None`` (organisation) is for admins."""
    if actor.is_superuser:
        return True
    return team is not None and team.pk in managed_team_ids(user=actor)


def can_write_user_quota(*, actor: User, user: User) -> bool:
    if actor.is_superuser:
        return True
    teams = managed_team_ids(user=actor)
    return bool(teams) and Membership.objects.filter(user=user, team_id__in=teams, role=Role.REP).exists()


def quotas_visible_to(*, user: User) -> QuerySet[Quota]:
    """Admins: all; managers: their own, their teams' and their teams' reps' rows; reps: their own."""
    qs = Quota.objects.select_related("user", "team")
    if not user.is_authenticated:
        return qs.none()
    if user.is_superuser:
        return qs
    teams = managed_team_ids(user=user)
    q = Q(user=user)
    if teams:
        members = Membership.objects.filter(team_id__in=teams).values("user_id")
        q |= Q(team_id__in=teams) | Q(user_id__in=members)
    return qs.filter(q)


# --- tiers -------------------------------------------------------------------------------------


def tiers_visible_to(*, user: User) -> QuerySet[IncentiveTier]:
    """Organisation tiers for everyone; team tiers for the teams a user belongs to or manages (admins: all)."""
    qs = IncentiveTier.objects.select_related("team")
    if not user.is_authenticated:
        return qs.none()
    if user.is_superuser:
        return qs
    teams = set(managed_team_ids(user=user))
    own = Membership.objects.filter(user=user).values_list("team_id", flat=True)
    teams |= team_ancestor_ids(team_ids=list(own))
    return qs.filter(Q(team__isnull=True) | Q(team_id__in=teams))


def team_ancestor_ids(*, team_ids: Iterable[int]) -> set[int]:
    """The given teams and their parents up to the root (one query over the few teams)."""
    parents = dict(Team.objects.values_list("pk", "parent_id"))
    seen: set[int] = set()
    for pk in team_ids:
        cur: int | None = pk
        while cur is not None and cur not in seen:
            seen.add(cur)
            cur = parents.get(cur)
    return seen


def tiers_for(*, period: Period, team: Team | None, measure: str | None = None) -> list[IncentiveTier]:
    """The tiers that apply to ``team`` in ``period``: the nearest team up the tree that has tiers of a measure,
    else the organisation's. Ordered by measure then threshold."""
    parents = dict(Team.objects.values_list("pk", "parent_id")) if team is not None else {}
    chain: list[int] = []
    cur = team.pk if team is not None else None
    while cur is not None and cur not in chain:
        chain.append(cur)
        cur = parents.get(cur)
    qs = IncentiveTier.objects.filter(period=period.key).filter(Q(team__isnull=True) | Q(team_id__in=chain))
    if measure:
        qs = qs.filter(measure=measure)
    tiers = list(qs.order_by("measure", "threshold"))
    rank = {tid: i for i, tid in enumerate(chain)}
    chosen: dict[str, int | None] = {}
    for t in tiers:
        level = rank.get(t.team_id, len(chain)) if t.team_id is not None else len(chain)
        best = chosen.get(t.measure)
        if best is None or level < best:
            chosen[t.measure] = level
    return [
        t
        for t in tiers
        if (rank.get(t.team_id, len(chain)) if t.team_id is not None else len(chain)) == chosen[t.measure]
    ]


@dataclass(frozen=True)
class TierStanding:
    value: Decimal
    reached: IncentiveTier | None
    next: IncentiveTier | None
    gap: Decimal | None


def tier_standing(*, value: int | Decimal, tiers: Iterable[IncentiveTier]) -> TierStanding:
    """The highest tier whose threshold ``value`` meets, the next one up, and how much is missing to it."""
    v = Decimal(value)
    ordered = sorted(tiers, key=lambda t: t.threshold)
    reached = None
    nxt = None
    for t in ordered:
        if v >= t.threshold:
            reached = t
        elif nxt is None:
            nxt = t
    return TierStanding(value=v, reached=reached, next=nxt, gap=(nxt.threshold - v) if nxt is not None else None)


# --- ladder consistency -------------------------------------------------------------------------


@dataclass(frozen=True)
class LadderFlag:
    code: str  # "quota_increases" | "unreachable"
    stage: str  # the upstream rung
    next_stage: str
    quota: int
    next_quota: int
    rate: Fraction | None
    max_next: int | None
    message: str


def ladder_consistency(
    quotas: Mapping[str, int | None], rates: Mapping[str, Fraction | float | None]
) -> list[LadderFlag]:
    """Flag rungs whose quota cannot be fed by the rung below it.

    ``rates[s]`` is the conversion from ``s`` to the next rung. A ladder cannot add up where the next rung's
    quota exceeds this rung's (``quota_increases``) or exceeds this rung's quota × its conversion rate
    (``unreachable``: 20 needs at 40 % feed at most 8 proposals, not 10).
    """
    flags: list[LadderFlag] = []
    for s, nxt in zip(STAGES, STAGES[1:], strict=False):
        q, qn = quotas.get(s), quotas.get(nxt)
        if q is None or qn is None:
            continue
        raw_rate = rates.get(s)
        rate = Fraction(raw_rate).limit_denominator(10_000) if raw_rate is not None else None
        labels = {"stage": Stage(s).label, "next": Stage(nxt).label, "q": q, "qn": qn}
        if qn > q:
            flags.append(
                LadderFlag(
                    "quota_increases",
                    s,
                    nxt,
                    q,
                    qn,
                    rate,
                    q,
                    str(_("%(qn)s × %(next)s cannot come out of %(q)s × %(stage)s.") % labels),
                )
            )
        elif rate is not None and qn > q * rate:
            max_next = int(q * rate)
            flags.append(
                LadderFlag(
                    "unreachable",
                    s,
                    nxt,
                    q,
                    qn,
                    rate,
                    max_next,
                    str(
                        _("%(q)s × %(stage)s at %(rate)s %% feed at most %(max)s × %(next)s, not %(qn)s.")
                        % {**labels, "rate": _pct(rate), "max": max_next}
                    ),
                )
            )
    return flags


def _pct(rate: Fraction) -> str:
    value = float(rate) * 100
    return f"{value:.0f}" if value.is_integer() else f"{value:.1f}"


def tier_measure_label(measure: str) -> str:
    return str(TierMeasure(measure).label)
