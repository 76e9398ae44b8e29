"""The review scorecard: the rep's numbers for the period, frozen as JSON when the draft is created.

Schema (``SCORECARD_SCHEMA_VERSION = 1``)::

    {"schema_version": 1, "period": "2026-10", "as_of": "2026-10-31", "user": 7, "team": 2,
     "stages": [{"stage", "entered", "quota", "attainment", "pace", "conversion_to_next",
                 "team_median_conversion"}, ...six rungs...],
     "overall_conversion", "pace": {"elapsed_share", "attainment", "status"},
     "outcomes": {"won_count", "won_amount", "lost_count", "win_rate", "lost_reasons": {code: n}},
     "activities": {"total", "by_kind": {kind: n}},
     "stale_deals": {"count", "deals": [{"id", "title", "stage", "last_activity_at"}]},
     "tier": {"measure", "value", "reached": {"name", "threshold", "reward"} | null, "next": ... | null,
              "gap_to_next"},
     "previous_action_items": [{"id", "text", "due_date", "done", "overdue"}]}

Money and ratios are strings/floats rounded for display; numbers are computed with the same
definitions as the targets services (SPEC §3) and tested against them. ``scorecard_render`` upgrades
any older version to the current shape, so old reviews keep rendering.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from decimal import Decimal
from statistics import median
from typing import Any

from django.db.models import Count, DecimalField, Q, QuerySet, Sum
from django.db.models.functions import Coalesce

from pipeline.models import ENTRY_KINDS, Activity, ActivityKind, Deal, DealStatus, Stage, StageTransition
from pipeline.models.core import TransitionKind
from reviews.models import ActionItem, Review
from salesladder.org.models import Membership, Role, Team
from targets.models import IncentiveTier, Quota, TierMeasure
from targets.periods import Period, org_tz

SCORECARD_SCHEMA_VERSION = 1
STALE_DEALS_LISTED = 10
PACE_ON_TRACK = 1.0
PACE_BEHIND = 0.7


def _window(period: Period, as_of: date) -> tuple[datetime, datetime]:
    start, end = period.bounds()
    cut = datetime.combine(as_of + timedelta(days=1), time.min, org_tz())
    return start, min(end, cut)


def _ratio(num: float | int | None, den: float | int | None) -> float | None:
    if not den or num is None:
        return None
    return round(num / den, 4)


def pace_status(pace: float | None) -> str | None:
    if pace is None:
        return None
    if pace >= PACE_ON_TRACK:
        return "on_track"
    return "behind" if pace >= PACE_BEHIND else "at_risk"


# --- database aggregates, one query each for all the team's reps ------------------------------------


def _entered(user_ids: list[int], start: datetime, end: datetime) -> dict[int, dict[str, int]]:
    rows = (
        StageTransition.objects.filter(
            owner_id__in=user_ids, kind__in=ENTRY_KINDS, occurred_at__gte=start, occurred_at__lt=end
        )
        .values("owner_id", "to_stage")
        .annotate(n=Count("deal_id", distinct=True))
    )
    out: dict[int, dict[str, int]] = {u: dict.fromkeys(Stage.values, 0) for u in user_ids}
    for r in rows:
        out[r["owner_id"]][r["to_stage"]] = r["n"]
    return out


def _quotas(user_ids: list[int], period: Period) -> dict[int, dict[str, int]]:
    out: dict[int, dict[str, int]] = {u: {} for u in user_ids}
    for user_id, stage, value in Quota.objects.filter(period=period.key, user_id__in=user_ids).values_list(
        "user_id", "stage", "value"
    ):
        out[user_id][stage] = value
    return out


def _won(user_ids: list[int], start: datetime, end: datetime) -> dict[int, tuple[int, Decimal]]:
    """Deals that entered ``signing`` (were won) in the window, by the owner at that moment."""
    signed = StageTransition.objects.filter(
        owner_id__in=user_ids,
        kind__in=ENTRY_KINDS,
        to_stage=Stage.SIGNING,
        occurred_at__gte=start,
        occurred_at__lt=end,
    )
    out: dict[int, tuple[int, Decimal]] = {u: (0, Decimal(0)) for u in user_ids}
    rows = (
        Deal.objects.filter(pk__in=signed.values("deal_id"), status=DealStatus.WON)
        .values("owner_id")
        .annotate(
            n=Count("pk"),
            amount=Coalesce(
                Sum(Coalesce("contract_amount", "amount")),
                Decimal(0),
                output_field=DecimalField(max_digits=16, decimal_places=2),
            ),
        )
    )
    for r in rows:
        if r["owner_id"] in out:
            out[r["owner_id"]] = (r["n"], r["amount"])
    return out


def _lost(user_ids: list[int], start: datetime, end: datetime) -> dict[int, dict[str, int]]:
    """Deals lost in the window by the owner at that moment, by their (current) lost reason."""
    rows = (
        StageTransition.objects.filter(
            owner_id__in=user_ids, kind=TransitionKind.LOSE, occurred_at__gte=start, occurred_at__lt=end
        )
        .values("owner_id", "deal__lost_reason__code")
        .annotate(n=Count("deal_id", distinct=True))
    )
    out: dict[int, dict[str, int]] = {u: {} for u in user_ids}
    for r in rows:
        out[r["owner_id"]][r["deal__lost_reason__code"] or "unspecified"] = r["n"]
    return out


def _activities(user_ids: list[int], start: datetime, end: datetime) -> dict[int, dict[str, int]]:
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
    qs: QuerySet[Deal] = Deal.objects.filter(owner_id__in=user_ids, status=DealStatus.OPEN, is_stale=True)
    counts = dict(qs.values("owner_id").annotate(n=Count("pk")).values_list("owner_id", "n"))
    listed: dict[int, list[dict[str, Any]]] = {u: [] for u in user_ids}
    for d in qs.order_by("owner_id", "last_activity_at", "pk").values(
        "pk", "owner_id", "title", "stage", "last_activity_at"
    ):
        bucket = listed[d["owner_id"]]
        if len(bucket) < STALE_DEALS_LISTED:
            bucket.append(
                {
                    "id": d["pk"],
                    "title": d["title"],
                    "stage": d["stage"],
                    "last_activity_at": d["last_activity_at"].isoformat() if d["last_activity_at"] else None,
                }
            )
    return {u: {"count": counts.get(u, 0), "deals": listed[u]} for u in user_ids}


def _tiers(team: Team, period: Period) -> list[IncentiveTier]:
    """The team's own tiers for the period, else the organisation's."""
    tiers = list(IncentiveTier.objects.filter(period=period.key).filter(Q(team=team) | Q(team__isnull=True)))
    own = [t for t in tiers if t.team_id == team.pk]
    return sorted(own or [t for t in tiers if t.team_id is None], key=lambda t: (t.measure, t.threshold))


def tier_standing(tiers: list[IncentiveTier], *, signings: int, won_amount: Decimal) -> dict[str, Any] | None:
    if not tiers:
        return None
    measure = tiers[0].measure
    ladder = [t for t in tiers if t.measure == measure]
    value = Decimal(signings) if measure == TierMeasure.SIGNINGS else won_amount
    reached = [t for t in ladder if t.threshold <= value]
    ahead = [t for t in ladder if t.threshold > value]

    def _tier(t: IncentiveTier | None) -> dict[str, str] | None:
        return None if t is None else {"name": t.name, "threshold": str(t.threshold), "reward": t.reward}

    nxt = ahead[0] if ahead else None
    return {
        "measure": measure,
        "value": str(value),
        "reached": _tier(reached[-1] if reached else None),
        "next": _tier(nxt),
        "gap_to_next": str(nxt.threshold - value) if nxt else None,
    }


def _previous_action_items(user_ids: list[int], period: Period, as_of: date) -> dict[int, list[dict[str, Any]]]:
    """Open action items of each rep's latest earlier review of the same cycle kind."""
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
    for item in ActionItem.objects.filter(q, review__cycle__kind=period.kind).values(
        "pk", "review__user_id", "text", "due_date", "done_at"
    ):
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


def _conversions(entered: dict[str, int]) -> list[float | None]:
    stages = Stage.values
    return [_ratio(entered[stages[i + 1]], entered[stages[i]]) for i in range(len(stages) - 1)]


def scorecards_build(*, team: Team, period: Period, as_of: date, user_ids: list[int]) -> dict[int, dict[str, Any]]:
    """Scorecards for ``user_ids`` (reps of ``team``), in a fixed number of queries whatever the team size.

    Conversions are compared with the median over all the team's reps (reps with no entries at a rung
    have no conversion there and are left out of that rung's median).
    """
    team_reps = sorted(set(team_rep_ids(team)) | set(user_ids))
    start, end = _window(period, as_of)
    entered = _entered(team_reps, start, end)
    quotas = _quotas(user_ids, period)
    won = _won(user_ids, start, end)
    lost = _lost(user_ids, start, end)
    activities = _activities(user_ids, start, end)
    stale = _stale(user_ids)
    tiers = _tiers(team, period)
    previous = _previous_action_items(user_ids, period, as_of)
    elapsed = period.elapsed_share(as_of)

    conversions = {u: _conversions(entered[u]) for u in team_reps}
    medians: list[float | None] = []
    for i in range(len(Stage.values) - 1):
        values = [c[i] for c in conversions.values() if c[i] is not None]
        medians.append(round(median(values), 4) if values else None)

    cards: dict[int, dict[str, Any]] = {}
    for user_id in user_ids:
        rows = []
        for i, stage in enumerate(Stage.values):
            quota = quotas[user_id].get(stage)
            attainment = _ratio(entered[user_id][stage], quota)
            rows.append(
                {
                    "stage": stage,
                    "entered": entered[user_id][stage],
                    "quota": quota,
                    "attainment": attainment,
                    "pace": _ratio(attainment, elapsed),
                    "conversion_to_next": conversions[user_id][i] if i < len(medians) else None,
                    "team_median_conversion": medians[i] if i < len(medians) else None,
                }
            )
        won_count, won_amount = won[user_id]
        lost_reasons = lost[user_id]
        lost_count = sum(lost_reasons.values())
        signing_attainment = rows[-1]["attainment"]
        signing_pace = _ratio(signing_attainment, elapsed)
        cards[user_id] = {
            "schema_version": SCORECARD_SCHEMA_VERSION,
            "period": period.key,
            "as_of": as_of.isoformat(),
            "user": user_id,
            "team": team.pk,
            "stages": rows,
            "overall_conversion": _ratio(entered[user_id][Stage.SIGNING], entered[user_id][Stage.PREP]),
            "pace": {
                "elapsed_share": round(elapsed, 4),
                "attainment": signing_attainment,
                "status": pace_status(signing_pace),
            },
            "outcomes": {
                "won_count": won_count,
                "won_amount": str(won_amount),
                "lost_count": lost_count,
                "win_rate": _ratio(won_count, won_count + lost_count),
                "lost_reasons": lost_reasons,
            },
            "activities": {"total": sum(activities[user_id].values()), "by_kind": activities[user_id]},
            "stale_deals": stale[user_id],
            "tier": tier_standing(tiers, signings=won_count, won_amount=won_amount),
            "previous_action_items": previous[user_id],
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
                "attainment": _ratio(entered.get(stage, 0), q),
                "pace": None,
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
        "tier": None,
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
