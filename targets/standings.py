"""Tier standings: each rep's signings and won amount in a period against the tiers that apply.

Signings and won amount come from the counting SQL (``sql.outcome_counts``: a deal won in the period =
its last closing there entered ``signing``, attributed to the owner at that moment), one query for all the
reps. The tiers are those of the scope's
team (nearest team up the tree with tiers, else the organisation's); a rep scope uses the rep's team.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from salesladder.org.models import Team
from salesladder.org.selectors import rep_team
from targets.models import IncentiveTier, ScopeType, TierMeasure
from targets.periods import Period
from targets.quota_selectors import TierStanding, tier_standing, tiers_for
from targets.selectors import sql
from targets.selectors.funnel import scope_reps
from targets.selectors.scope import Scope


@dataclass(frozen=True)
class RepStanding:
    user: int
    username: str
    measure: str
    standing: TierStanding


def scope_team(scope: Scope) -> Team | None:
    if scope.type == ScopeType.TEAM:
        return Team.objects.filter(pk=scope.id).first()
    if scope.type == ScopeType.USER:
        from salesladder.org.models import User

        user = User.objects.filter(pk=scope.id).first()
        return rep_team(user=user) if user is not None else None
    return None


def tier_standings(*, scope: Scope, period: Period) -> tuple[list[IncentiveTier], list[RepStanding]]:
    """The applicable tiers and one row per rep × measure that has tiers. Constant queries."""
    tiers = tiers_for(period=period, team=scope_team(scope))
    by_measure: dict[str, list[IncentiveTier]] = {}
    for tier in tiers:
        by_measure.setdefault(tier.measure, []).append(tier)
    if not by_measure:
        return tiers, []
    reps = scope_reps(scope, scope.team_ids())
    start, cutoff = period.bounds()
    counts = sql.outcome_counts(sql.group_users([pk for pk, _name in reps]), start=start, cutoff=cutoff)
    rows = []
    for pk, name in reps:
        won, amount, _lost = counts.get(pk, (0, 0, 0))
        values = {TierMeasure.SIGNINGS: Decimal(won), TierMeasure.WON_AMOUNT: Decimal(str(amount))}
        for measure, measure_tiers in by_measure.items():
            value = values[TierMeasure(measure)].quantize(Decimal("0.01"))
            rows.append(RepStanding(pk, name, measure, tier_standing(value=value, tiers=measure_tiers)))
    return tiers, rows
