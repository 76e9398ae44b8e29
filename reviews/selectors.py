"""Scoped reads of reviews. ``reviews_visible_to`` is the one place that knows who sees which review.

- admin: every review;
- manager: every review of the teams they manage, sub-teams included (drafts too);
- rep: their own reviews, once shared; a draft does not exist for its rep (404).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django.db.models import Count, Prefetch, Q, QuerySet
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from reviews.models import ActionItem, Review, ReviewStatus
from salesladder.org.models import Team, User
from salesladder.org.selectors import managed_team_ids, team_descendant_ids
from targets.periods import Period


def reviews_visible_to(*, user: User) -> QuerySet[Review]:
    if not user.is_authenticated:
        return Review.objects.none()
    if user.is_superuser:
        return Review.objects.all()
    q = Q(user=user) & ~Q(status=ReviewStatus.DRAFT)
    teams = managed_team_ids(user=user)
    if teams:
        # A manager who is also reviewed (a rep membership elsewhere) still never sees their own draft.
        q |= Q(cycle__team_id__in=teams) & ~Q(user=user)
    return Review.objects.filter(q)


def reviews_for_list(*, user: User) -> QuerySet[Review]:
    """The visible reviews with everything the API shows, in a fixed number of queries."""
    return (
        reviews_visible_to(user=user)
        .select_related("user", "reviewer", "cycle__team")
        .prefetch_related(Prefetch("action_items", queryset=ActionItem.objects.order_by("due_date", "pk")))
    )


def action_items_visible_to(*, user: User) -> QuerySet[ActionItem]:
    return ActionItem.objects.filter(review__in=reviews_visible_to(user=user).values("pk"))


def is_reviews_manager(*, actor: User, review: Review) -> bool:
    """May ``actor`` act as the manager of ``review`` (rate it, share it, close it)?"""
    if actor.pk == review.user_id:
        return False
    return actor.is_superuser or review.cycle.team_id in managed_team_ids(user=actor)


@dataclass(frozen=True)
class CompletionRow:
    team: int
    team_name: str
    total: int
    draft: int
    shared: int
    acknowledged: int
    closed: int


def reviews_completion(*, period: str, team: Team | None = None, user: User | None = None) -> list[CompletionRow]:
    """How far each team got with the period's reviews: one GROUP BY query.

    ``team`` limits the answer to that team and its sub-teams; ``user`` to the teams they may see.
    """
    qs = Review.objects.filter(period=period)
    if team is not None:
        qs = qs.filter(cycle__team_id__in=team_descendant_ids(team_ids=[team.pk]))
    if user is not None:
        qs = qs.filter(pk__in=reviews_visible_to(user=user).values("pk"))
    rows = (
        qs.values("cycle__team_id", "cycle__team__name")
        .annotate(
            total=Count("pk"),
            draft=Count("pk", filter=Q(status=ReviewStatus.DRAFT)),
            shared=Count("pk", filter=Q(status=ReviewStatus.SHARED)),
            acknowledged=Count("pk", filter=Q(status=ReviewStatus.ACKNOWLEDGED)),
            closed=Count("pk", filter=Q(status=ReviewStatus.CLOSED)),
        )
        .order_by("cycle__team__name")
    )
    return [
        CompletionRow(
            team=r["cycle__team_id"],
            team_name=r["cycle__team__name"],
            total=r["total"],
            draft=r["draft"],
            shared=r["shared"],
            acknowledged=r["acknowledged"],
            closed=r["closed"],
        )
        for r in rows
    ]


_HIDDEN_HISTORY_FIELDS = {"id", "updated_at", "created_at", "review", "touched_by_human"}


def _display(model: type[Review] | type[ActionItem], name: str, value: Any) -> str:
    """``value`` of field ``name`` as a reader sees it: a choice's label in the active language, a moment
    in the organisation's time zone, a date in the locale's short format, yes/no."""
    if value is None or value == "":
        return ""
    field = next((f for f in model._meta.concrete_fields if f.attname == name), None)
    if field is not None and field.choices:
        return str(dict(field.flatchoices).get(value, value))
    if isinstance(value, datetime):
        return date_format(timezone.localtime(value), "SHORT_DATETIME_FORMAT")
    if isinstance(value, date):
        return date_format(value, "SHORT_DATE_FORMAT")
    if isinstance(value, bool):
        return str(_("yes") if value else _("no"))
    return str(value)


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float | str | dict | list):
        return value
    return str(value)


def review_history(*, review: Review, viewer: User | None = None) -> list[dict[str, Any]]:
    """Every change to the review and its action items, oldest first: who, when, which fields, old → new.

    With ``viewer`` = the reviewed rep, only what happened from sharing on: the drafting is the manager's.

    Two queries (the review's rows, the action items' rows); diffs are taken between consecutive rows of
    the same object in memory, so the cost does not grow with a query per change.
    """
    review_rows = list(review.history.select_related("history_user").order_by("history_date", "history_id"))
    item_rows = list(
        ActionItem.history.filter(review_id=review.pk)
        .select_related("history_user")
        .order_by("history_date", "history_id")
    )
    entries: list[dict[str, Any]] = []
    sources: tuple[tuple[str, list[Any], type[Review] | type[ActionItem]], ...] = (
        ("review", review_rows, Review),
        ("action_item", item_rows, ActionItem),
    )
    for object_type, rows, model in sources:
        fields = [f.attname for f in model._meta.concrete_fields]
        previous: dict[int, Any] = {}
        for row in rows:
            before = previous.get(row.id)
            changes = []
            for name in fields:
                if name in _HIDDEN_HISTORY_FIELDS or name == "review_id":
                    continue
                new = getattr(row, name, None)
                old = getattr(before, name, None) if before is not None else None
                if before is None and row.history_type != "+":
                    continue
                if before is not None and old == new:
                    continue
                if before is None and new in (None, "", {}, False):
                    continue
                if name == "scorecard":  # large frozen JSON: say it changed, do not repeat it
                    changes.append({"field": name, "old": None, "new": None})
                    continue
                changes.append(
                    {"field": name, "old": _jsonable(old), "new": _jsonable(new), "shown": _display(model, name, new)}
                )
            previous[row.id] = row
            user = row.history_user
            entries.append(
                {
                    "at": row.history_date,
                    "by": user.pk if user else None,
                    "by_name": (str(user) if user else ""),
                    "action": {"+": "created", "~": "changed", "-": "deleted"}[row.history_type],
                    "object": object_type,
                    "object_id": row.id,
                    "changes": changes,
                }
            )
    entries.sort(key=lambda e: e["at"])
    if viewer is not None and viewer.pk == review.user_id and review.shared_at is not None:
        entries = [e for e in entries if e["at"] >= review.shared_at]
    return entries


def latest_periods(*, reviews: QuerySet[Review], limit: int = 24) -> list[str]:
    """The ``limit`` latest periods of ``reviews``, latest start first (as text "2026-Q2" sorts after
    "2026-10"); at the same start the shorter period first (a month before its quarter). One query."""
    parsed = [Period.parse(key) for key in reviews.order_by().values_list("period", flat=True).distinct()]
    parsed.sort(key=lambda p: (p.start, -p.end.toordinal()), reverse=True)
    return [p.key for p in parsed[:limit]]
