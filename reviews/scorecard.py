"""The review scorecard: the rep's numbers for the period, frozen as JSON when the draft is created.

Schema (``SCORECARD_SCHEMA_VERSION = 1``)::

    {"schema_version": 1, "period": "2026-10", "as_of": "2026-10-31", "user": 7, "team": 2,
     "stages": [{"stage", "entered", "quota", "attainment", "pace", "pace_status", "conversion_to_next",
                 "team_median_conversion"}, ...six rungs...],
     "overall_conversion", "pace": {"elapsed_share", "attainment", "status"},   # signing rung
     "outcomes": {"won_count", "won_amount", "lost_count", "win_rate", "lost_reasons": {code: n}},
     "activities": {"total", "by_kind": {kind: n}},
     "stale_deals": {"count", "deals": [{"id", "title", "stage", "last_activity_at"}]},
     "tiers": [{"measure", "value", "reached": {"name", "threshold", "reward"} | null, "next": ... | null,
                "gap_to_next"}],
     "previous_action_items": [{"id", "text", "due_date", "done", "overdue"}]}

Money is a decimal string, ratios are floats. The numbers come from the targets services' own SQL
(SPEC §3) and are tested equal to them. ``scorecard_render`` upgrades
any older version to the current shape, so old reviews keep rendering.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from statistics import median
from typing import Any

from django.db.models import Count, Q

from pipeline.models import Activity, ActivityKind, Deal, Stage
from reviews.models import ActionItem, Review
from salesladder.org.models import Membership, Role, Team
from targets.models import IncentiveTier
from targets.periods import Period
from targets.quota_selectors import tier_standing, tiers_for
from targets.selectors import sql
from targets.selectors.funnel import window
from targets.selectors.outcomes import stale_q
from targets.selectors.quotas import user_quotas
from targets.selectors.results import attainment_row, build_stages, ratio

SCORECARD_SCHEMA_VERSION = 1
STAGES = list(Stage.values)
STALE_DEALS_LISTED = 10


# --- database aggregates: one query each for all the team's reps, the same SQL as the targets services ---


def _activities(user_ids: list[int], start: Any, end: Any) -> dict[int, dict[str, int]]:
    rows = (
        Activity.objects.filter(owner_id__in=user_ids, created_at__gte=start, created_at__lt=end)
        .values("owner_id", "kind")
        .annotate(n=Count("pk"))
    )
    out: dict[int, dict[str, int]] = {u: dict.fromkeys(ActivityKind.values, 0) for u in user_ids}
    for r in rows:
        out[r["owner_id"]][r["kind"]] = r["n"]
    return out


def _stale(user_ids: list[int]) -> dict[int, dict[str, Any]]:
    """Open deals that have gone quiet now (``targets.selectors.stale_deals`` for each rep, in one query)."""
    out: dict[int, dict[str, Any]] = {u: {"count": 0, "deals": []} for u in user_ids}
    rows = (
        Deal.objects.filter(stale_q(), owner_id__in=user_ids)
        .order_by("owner_id", "last_activity_at", "created_at", "pk")
        .values("pk", "owner_id", "title", "stage", "last_activity_at")
    )
    for d in rows:
        bucket = out[d["owner_id"]]
        bucket["count"] += 1
        if len(bucket["deals"]) < STALE_DEALS_LISTED:
            last = d["last_activity_at"]
            bucket["deals"].append(
                {"id": d["pk"], "title": d["title"], "stage": d["stage"], "last_activity_at": last and last.isoformat()}
            )
    return out


def _tier_standings(tiers: list[IncentiveTier], *, signings: int, won_amount: Decimal) -> list[dict[str, Any]]:
    def _tier(t: IncentiveTier | None) -> dict[str, str] | None:
        return None if t is None else {"name": t.name, "threshold": str(t.threshold), "reward": t.reward}

    out = []
    for measure in sorted({t.measure for t in tiers}):
        value = Decimal(signings) if measure == "signings" else won_amount
        st = tier_standing(value=value, tiers=[t for t in tiers if t.measure == measure])
        out.append(
            {
                "measure": measure,
                "value": str(st.value),
                "reached": _tier(st.reached),
                "next": _tier(st.next),
                "gap_to_next": None if st.gap is None else str(st.gap),
            }
        )
    return out


def _previous_action_items(user_ids: list[int], period: Period, as_of: date) -> dict[int, list[dict[str, Any]]]:
    """Action items of each rep's latest earlier review of the same cycle kind (open ones flagged overdue)."""
    latest: dict[int, str] = {}
    for user_id, key in (
        Review.objects.filter(user_id__in=user_ids, cycle__kind=period.kind, period__lt=period.key)
        .values_list("user_id", "period")
        .order_by("user_id", "period")
    ):
        latest[user_id] = key
    out: dict[int, list[dict[str, Any]]] = {u: [] for u in user_ids}
    if not latest:
        return out
    q = Q()
    for user_id, key in latest.items():
        q |= Q(review__user_id=user_id, review__period=key)
    items = ActionItem.objects.filter(q, review__cycle__kind=period.kind).order_by("due_date", "pk")
    for item in items.values("pk", "review__user_id", "text", "due_date", "done_at"):
        due = item["due_date"]
        out[item["review__user_id"]].append(
            {
                "id": item["pk"],
                "text": item["text"],
                "due_date": due.isoformat() if due else None,
                "done": item["done_at"] is not None,
                "overdue": item["done_at"] is None and due is not None and due <= as_of,
            }
        )
    return out


# --- assembling ---------------------------------------------------------------------------------------


def team_rep_ids(team: Team) -> list[int]:
    return list(
        Membership.objects.filter(team=team, role=Role.REP).order_by("user_id").values_list("user_id", flat=True)
    )


def scorecards_build(*, team: Team, period: Period, as_of: date, user_ids: list[int]) -> dict[int, dict[str, Any]]:
    """Scorecards for ``user_ids`` (reps of ``team``) in a fixed number of queries, whatever the team size.

    The figures are those of ``targets.selectors`` for a rep scope (funnel, attainment, outcomes,
    stale deals) computed live up to the end of ``as_of``. Conversions are compared with the median
    over all the team's reps; a rep with no entries at a rung has no conversion there and is left out
    of that rung's median.
    """
    team_reps = sorted(set(team_rep_ids(team)) | set(user_ids))
    start, cutoff = window(period, as_of)
    entered_all = sql.entered_counts(sql.group_users(team_reps), start=start, cutoff=cutoff)
    quotas = user_quotas(period=period, user_ids=user_ids)
    results = sql.outcome_counts(sql.group_users(user_ids), start=start, cutoff=cutoff)
    reasons = sql.lost_reason_counts(sql.group_users(user_ids), start=start, cutoff=cutoff)
    activities = _activities(user_ids, start, cutoff)
    stale = _stale(user_ids)
    tiers = tiers_for(period=period, team=team)
    previous = _previous_action_items(user_ids, period, as_of)
    elapsed = period.elapsed_share(as_of)

    funnels = {}
    for u in team_reps:
        entered = {s: entered_all.get((u, s), 0) for s in STAGES}
        quota = {s: quotas[(u, s)] for s in STAGES if (u, s) in quotas}
        funnels[u] = build_stages(entered=entered, cohort={}, quota=quota, median={}, stages=STAGES)
    medians: dict[str, float | None] = {}
    for s_index, s in enumerate(STAGES):
        values = [f[0][s_index].conversion_to_next for f in funnels.values()]
        present = [v for v in values if v is not None]
        medians[s] = median(present) if present else None

    cards: dict[int, dict[str, Any]] = {}
    for u in user_ids:
        figures, overall, _cohort = funnels[u]
        rows = []
        for f in figures:
            att = attainment_row(user=u, label="", stage=f.stage, quota=f.quota, entered=f.entered, elapsed=elapsed)
            rows.append(
                {
                    "stage": f.stage,
                    "entered": f.entered,
                    "quota": f.quota,
                    "attainment": att.attainment,
                    "pace": att.pace,
                    "pace_status": att.pace_status,
                    "conversion_to_next": f.conversion_to_next,
                    "team_median_conversion": medians[f.stage],
                }
            )
        won, amount, lost = results.get(u, (0, 0, 0))
        won_amount = Decimal(str(amount)).quantize(Decimal("0.01"))
        signing = rows[-1]
        cards[u] = {
            "schema_version": SCORECARD_SCHEMA_VERSION,
            "period": period.key,
            "as_of": as_of.isoformat(),
            "user": u,
            "team": team.pk,
            "stages": rows,
            "overall_conversion": overall,
            "pace": {"elapsed_share": elapsed, "attainment": signing["attainment"], "status": signing["pace_status"]},
            "outcomes": {
                "won_count": won,
                "won_amount": str(won_amount),
                "lost_count": lost,
                "win_rate": ratio(won, won + lost),
                "lost_reasons": {code: n for (sid, code), n in reasons.items() if sid == u},
            },
            "activities": {"total": sum(activities[u].values()), "by_kind": activities[u]},
            "stale_deals": stale[u],
            "tiers": _tier_standings(tiers, signings=won, won_amount=won_amount),
            "previous_action_items": previous[u],
        }
    return cards


# --- rendering stored scorecards -----------------------------------------------------------------------


def _upgrade_v0(card: dict[str, Any]) -> dict[str, Any]:
    """Version 0 (before versioning): ``{"entered": {stage: n}, "quota": {stage: n}, "won_amount": "…"}``."""
    entered = card.get("entered") or {}
    quota = card.get("quota") or {}
    stages = []
    for stage in Stage.values:
        q = quota.get(stage)
        stages.append(
            {
                "stage": stage,
                "entered": entered.get(stage, 0),
                "quota": q,
                "attainment": ratio(entered.get(stage, 0), q),
                "pace": None,
                "pace_status": None,
                "conversion_to_next": None,
                "team_median_conversion": None,
            }
        )
    return {
        "schema_version": 1,
        "period": card.get("period"),
        "as_of": card.get("as_of"),
        "user": card.get("user"),
        "team": card.get("team"),
        "stages": stages,
        "overall_conversion": None,
        "pace": {"elapsed_share": None, "attainment": stages[-1]["attainment"], "status": None},
        "outcomes": {
            "won_count": card.get("won_count", 0),
            "won_amount": str(card.get("won_amount", "0")),
            "lost_count": 0,
            "win_rate": None,
            "lost_reasons": {},
        },
        "activities": {"total": 0, "by_kind": {}},
        "stale_deals": {"count": 0, "deals": []},
        "tiers": [],
        "previous_action_items": [],
    }


_UPGRADERS = {0: _upgrade_v0}


def scorecard_render(card: dict[str, Any] | None) -> dict[str, Any]:
    """Any stored scorecard, upgraded step by step to the current schema. Unknown newer versions pass through."""
    if not card:
        return {"schema_version": SCORECARD_SCHEMA_VERSION, "stages": []}
    version = card.get("schema_version", 0)
    while isinstance(version, int) and version < SCORECARD_SCHEMA_VERSION and version in _UPGRADERS:
        card = _UPGRADERS[version](card)
        version = card["schema_version"]
    return card
