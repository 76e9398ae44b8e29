"""Quota lookups for the computation services: a rep's own rows; a team's explicit rows, else the sum of
its reps' quotas (reps of the team and its sub-teams); the organisation = the sum of every rep's quotas."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from django.db import connection
from django.db.models import Max, Q, Sum

from salesladder.org.models import Membership, Role
from targets.models import Quota, ScopeType
from targets.periods import Period
from targets.selectors.scope import ORG_SCOPE_ID, Scope

QuotaMap = dict[tuple[int, str], int]


def rep_ids_in(team_ids: Iterable[int] | None) -> list[int]:
    """Reps of these teams (None: every rep). One query."""
    qs = Membership.objects.filter(role=Role.REP)
    if team_ids is not None:
        qs = qs.filter(team_id__in=list(team_ids))
    return sorted(set(qs.values_list("user_id", flat=True)))


def scope_quota(*, scope: Scope, period: Period, team_ids: Iterable[int] = ()) -> dict[str, int]:
    """``{stage: quota}`` of one scope (stages without any quota are absent). One or two queries."""
    quotas = Quota.objects.filter(period=period.key)
    if scope.type == ScopeType.USER:
        return dict(quotas.filter(user_id=scope.id).values_list("stage", "value"))
    if scope.type == ScopeType.TEAM:
        reps = Membership.objects.filter(role=Role.REP, team_id__in=list(team_ids)).values("user_id")
        rows = (
            quotas.filter(Q(team_id=scope.id) | Q(user_id__in=reps))
            .values("stage")
            .annotate(
                explicit=Max("value", filter=Q(team_id=scope.id)),
                summed=Sum("value", filter=Q(user__isnull=False)),
            )
        )
        return {
            r["stage"]: int(r["explicit"] if r["explicit"] is not None else r["summed"])
            for r in rows
            if r["explicit"] is not None or r["summed"] is not None
        }
    totals = quotas.filter(user__isnull=False).values("stage").annotate(total=Sum("value"))
    return {r["stage"]: int(r["total"]) for r in totals}


def user_quotas(*, period: Period, user_ids: Sequence[int] | None = None) -> QuotaMap:
    qs = Quota.objects.filter(period=period.key, user__isnull=False)
    if user_ids is not None:
        qs = qs.filter(user_id__in=list(user_ids))
    return {(uid, stage): value for uid, stage, value in qs.values_list("user_id", "stage", "value")}


def team_quotas(*, period: Period, closure: Sequence[tuple[int, int]]) -> QuotaMap:
    """Every team of ``closure`` ([(team, ancestor-or-self)]): explicit rows win, else the reps' sum.
    One aggregate query for the sums, one for the explicit rows."""
    pairs = list(closure) or [(-1, -1)]
    values = ", ".join(["(%s, %s)"] * len(pairs))
    sql = f"""
        WITH closure(team_id, ancestor_id) AS (VALUES {values}),
        reps AS (SELECT DISTINCT c.ancestor_id, m.user_id FROM {Membership._meta.db_table} m
                 JOIN closure c ON c.team_id = m.team_id WHERE m.role = %s)
        SELECT r.ancestor_id, q.stage, SUM(q.value)
        FROM reps r JOIN {Quota._meta.db_table} q ON q.user_id = r.user_id
        WHERE q.period = %s GROUP BY 1, 2"""
    params = [v for pair in pairs for v in pair] + [Role.REP.value, period.key]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        result: QuotaMap = {(int(t), s): int(v) for t, s, v in cursor.fetchall()}
    team_ids = {a for _t, a in pairs}
    explicit = Quota.objects.filter(period=period.key, team_id__in=team_ids)
    result.update({(tid, stage): value for tid, stage, value in explicit.values_list("team_id", "stage", "value")})
    return result


def org_quotas(*, period: Period) -> QuotaMap:
    qs = Quota.objects.filter(period=period.key, user__isnull=False).values("stage").annotate(total=Sum("value"))
    return {(ORG_SCOPE_ID, row["stage"]): int(row["total"]) for row in qs}
