"""Every write of the review workflow.

Status: ``draft → shared → acknowledged → closed``.

- The nightly job creates drafts at period end (``review_drafts_create``); it never touches an existing
  review, so a second run creates nothing and a review a person has edited is never overwritten.
- The managing side (a manager of the review's team, sub-teams included, or an admin; never the rep
  themselves) edits rating, strengths, improvements and the manager's comment while the review is a
  draft or shared, adds action items, shares it (a rating is required) and closes it once the rep
  has acknowledged it. Closing a review the rep has not acknowledged is refused: the acknowledgement
  is the rep's record that they saw the final text.
- The rep writes ``rep_comment`` (shared or acknowledged) and acknowledges a shared review.

Refusals are field-level ``DomainError``s: a wrong status answers 400 on ``status``; a field the
caller's role may not change answers 400 on that field; a step the role may not take answers 403.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import Case, Q, Value, When
from django.utils import timezone
from django.utils.translation import gettext as _

from reviews.errors import ReviewActionForbidden, ReviewFieldForbidden, status_error
from reviews.models import ActionItem, CycleKind, Review, ReviewCycle, ReviewStatus
from reviews.scorecard import scorecards_build
from reviews.selectors import is_reviews_manager
from salesladder.errors import DomainError
from salesladder.org.models import Membership, Role, Team, User
from targets.periods import Period

MANAGER_FIELDS = ("rating", "strengths", "improvements", "manager_comment")
REP_FIELDS = ("rep_comment",)
TEXT_MAX = 10_000


# --- drafts at period end -------------------------------------------------------------------------


def review_cycles_ensure_default() -> list[ReviewCycle]:
    """Every team with at least one rep gets a monthly cycle unless it already has a cycle of any kind.

    This is the documented default: teams are reviewed monthly until an admin sets their cycle to
    quarterly (or deactivates it). Teams with managers only get none.
    """
    teams_with_reps = Membership.objects.filter(role=Role.REP).values("team_id")
    missing = Team.objects.filter(pk__in=teams_with_reps).exclude(review_cycles__isnull=False)
    cycles = [ReviewCycle(team_id=pk, kind=CycleKind.MONTH) for pk in missing.values_list("pk", flat=True)]
    return ReviewCycle.objects.bulk_create(cycles, ignore_conflicts=True)


def _reviewer_for(team: Team, managers: Mapping[int, int], parents: Mapping[int, int | None]) -> int | None:
    """The team's first manager, else the nearest ancestor team's."""
    seen: set[int] = set()
    current: int | None = team.pk
    while current is not None and current not in seen:
        seen.add(current)
        if current in managers:
            return managers[current]
        current = parents.get(current)
    return None


def _carry_open_items(*, reviews: list[Review], period: Period, kind: str) -> None:
    """Copy the still-open action items of each rep's latest earlier review into their new draft. 2 queries
    plus the bulk inserts, whatever the number of reps."""
    by_user = {r.user_id: r for r in reviews}
    latest: dict[int, int] = {}
    for user_id, review_id in (
        Review.objects.filter(user_id__in=list(by_user), cycle__kind=kind, period__lt=period.key)
        .order_by("user_id", "period", "pk")
        .values_list("user_id", "pk")
    ):
        latest[user_id] = review_id  # ascending order leaves each rep's latest
    if not latest:
        return
    owner = {review_id: user_id for user_id, review_id in latest.items()}
    copies = [
        ActionItem(
            review=by_user[owner[item.review_id]],
            text=item.text,
            due_date=item.due_date,
            is_overdue=item.is_overdue,
            carried_from_id=item.carried_from_id or item.pk,
        )
        for item in ActionItem.objects.filter(review_id__in=list(owner), done_at__isnull=True).order_by("pk")
    ]
    if copies:
        ActionItem.history.bulk_history_create(ActionItem.objects.bulk_create(copies))


@transaction.atomic
def review_drafts_create(
    *, period: Period | str, as_of: date | None = None, members_by_period_end: bool = False
) -> list[Review]:
    """A draft review, with its frozen scorecard, for every rep of every team with an active cycle of
    ``period``'s kind. Idempotent: existing reviews (whatever their status) are left alone.

    Only people with a rep membership get a review (managers carry no quota and get none). Membership is
    read as it is now: a run for an old period reviews today's reps — with ``members_by_period_end``
    (the nightly job) only those who were already in the team when the period ended, so a rep who joins
    (or moves teams) mid-month gets no draft for last month from the night's catch-up run. The membership's
    ``created_at`` stands for the day they joined: a move to another team makes a new membership
    (``membership_set``), a role change within the team keeps it; an HR sync that deletes and re-creates
    memberships resets it.

    The cycles are locked for the run, so two runs at once (beat and a manual ``run_nightly``) take turns
    and the second finds everything done. Inserts are bulk: the query count does not grow with the
    number of reps (per cycle: the scorecard aggregates, one insert of reviews, one of their history,
    two queries and two inserts for the carried-over action items).
    """
    if isinstance(period, str):
        period = Period.parse(period)
    as_of = as_of or period.end - timedelta(days=1)
    review_cycles_ensure_default()
    cycles = list(
        ReviewCycle.objects.select_for_update(of=("self",))
        .filter(kind=period.kind, is_active=True)
        .select_related("team")
        .order_by("pk")
    )
    if not cycles:
        return []
    reps_by_team: dict[int, list[int]] = {}
    members = Membership.objects.filter(team__in=[c.team_id for c in cycles], role=Role.REP)
    if members_by_period_end:
        members = members.filter(created_at__lt=period.bounds()[1])
    for team_id, user_id in members.order_by("user__username").values_list("team_id", "user_id"):
        reps_by_team.setdefault(team_id, []).append(user_id)
    existing = set(Review.objects.filter(period=period.key, cycle__in=cycles).values_list("cycle_id", "user_id"))
    managers: dict[int, int] = {}
    for team_id, user_id in (
        Membership.objects.filter(role=Role.MANAGER).order_by("-created_at", "-pk").values_list("team_id", "user_id")
    ):
        managers[team_id] = user_id  # iterating newest first leaves the earliest manager of each team
    parents = dict(Team.objects.values_list("pk", "parent_id"))

    created: list[Review] = []
    for cycle in cycles:
        missing = [u for u in reps_by_team.get(cycle.team_id, []) if (cycle.pk, u) not in existing]
        if not missing:
            continue
        cards = scorecards_build(team=cycle.team, period=period, as_of=as_of, user_ids=missing)
        reviewer_id = _reviewer_for(cycle.team, managers, parents)
        reviews = Review.objects.bulk_create(
            [
                Review(cycle=cycle, user_id=u, period=period.key, scorecard=cards[u], reviewer_id=reviewer_id)
                for u in missing
            ]
        )
        Review.history.bulk_history_create(reviews)
        _carry_open_items(reviews=reviews, period=period, kind=cycle.kind)
        created.extend(reviews)
    return created


def period_to_review(*, as_of: date, kind: str) -> Period:
    """The period whose reviews a nightly run for ``as_of`` closes: the one ending with ``as_of`` if it is
    its last day, else the one before (so a missed night catches up the next day)."""
    current = Period.containing(as_of, kind)
    if as_of == current.end - timedelta(days=1):
        return current
    return current.previous()


def review_drafts_nightly(*, as_of: date) -> dict[str, int]:
    """Nightly hook: drafts for every cycle kind's period that has ended, then overdue flags."""
    counts: dict[str, int] = {}
    for kind in CycleKind.values:
        period = period_to_review(as_of=as_of, kind=kind)
        counts[period.key] = len(review_drafts_create(period=period, as_of=as_of, members_by_period_end=True))
    counts["overdue_action_items"] = action_items_flag_overdue(as_of=as_of)
    return counts


# --- the review itself ------------------------------------------------------------------------------


def _locked(review: Review) -> Review:
    return Review.objects.select_for_update().select_related("cycle").get(pk=review.pk)


def _require_manager(*, actor: User, review: Review) -> None:
    if not is_reviews_manager(actor=actor, review=review):
        raise ReviewActionForbidden(_("Only the rep's manager can do this."))


def _require_rep(*, actor: User, review: Review) -> None:
    if actor.pk != review.user_id:
        raise ReviewActionForbidden(_("Only the reviewed rep can do this."))


def _save(review: Review, actor: User, fields: list[str]) -> Review:
    review._history_user = actor  # type: ignore[attr-defined]
    review.save(update_fields=[*fields, "updated_at"])
    return review


def _clean_text(field: str, value: Any) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise DomainError({field: [_("Enter text.")]})
    if len(value) > TEXT_MAX:
        raise DomainError({field: [_("At most %(n)d characters.") % {"n": TEXT_MAX}]})
    return value.strip()


def _clean_rating(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 5:
        raise DomainError({"rating": [_("Rate from 1 to 5.")]})
    return value


@transaction.atomic
def review_update(*, review: Review, actor: User, **fields: Any) -> Review:
    unknown = set(fields) - set(MANAGER_FIELDS) - set(REP_FIELDS)
    if unknown:
        raise DomainError({name: [_("This field cannot be changed.")] for name in sorted(unknown)})
    review = _locked(review)
    is_manager = is_reviews_manager(actor=actor, review=review)
    is_rep = actor.pk == review.user_id
    if not (is_manager or is_rep):
        raise ReviewActionForbidden(_("You cannot edit this review."))
    forbidden: dict[str, list[str]] = {}
    for name in fields:
        if name in MANAGER_FIELDS and not is_manager:
            forbidden[name] = [_("Only the rep's manager can change this.")]
        elif name in REP_FIELDS and not is_rep:
            forbidden[name] = [_("Only the reviewed rep can write this comment.")]
    if forbidden:
        raise ReviewFieldForbidden(forbidden)
    if any(n in MANAGER_FIELDS for n in fields) and review.status not in (ReviewStatus.DRAFT, ReviewStatus.SHARED):
        raise status_error(review.get_status_display(), _("a draft or shared"))
    if any(n in REP_FIELDS for n in fields) and review.status not in (
        ReviewStatus.SHARED,
        ReviewStatus.ACKNOWLEDGED,
    ):
        raise status_error(review.get_status_display(), _("shared or acknowledged"))

    if "rating" in fields and fields["rating"] is None and review.status != ReviewStatus.DRAFT:
        raise DomainError({"rating": [_("A shared review keeps its rating; choose 1 to 5.")]})
    changed: list[str] = []
    for name, value in fields.items():
        clean = _clean_rating(value) if name == "rating" else _clean_text(name, value)
        if getattr(review, name) != clean:
            setattr(review, name, clean)
            changed.append(name)
    if not changed:
        return review
    review.touched_by_human = True
    return _save(review, actor, [*changed, "touched_by_human"])


@transaction.atomic
def review_share(*, review: Review, actor: User, at: datetime | None = None) -> Review:
    review = _locked(review)
    _require_manager(actor=actor, review=review)
    if review.status != ReviewStatus.DRAFT:
        raise status_error(review.get_status_display(), ReviewStatus.DRAFT.label)
    if review.rating is None:
        raise DomainError({"rating": [_("Give a rating before sharing the review.")]})
    review.status = ReviewStatus.SHARED
    review.shared_at = at or timezone.now()
    review.reviewer = actor
    review.touched_by_human = True
    return _save(review, actor, ["status", "shared_at", "reviewer", "touched_by_human"])


@transaction.atomic
def review_acknowledge(
    *, review: Review, actor: User, rep_comment: str | None = None, at: datetime | None = None
) -> Review:
    review = _locked(review)
    _require_rep(actor=actor, review=review)
    if review.status != ReviewStatus.SHARED:
        raise status_error(review.get_status_display(), ReviewStatus.SHARED.label)
    fields = ["status", "acknowledged_at", "touched_by_human"]
    if rep_comment is not None:
        review.rep_comment = _clean_text("rep_comment", rep_comment)
        fields.append("rep_comment")
    review.status = ReviewStatus.ACKNOWLEDGED
    review.acknowledged_at = at or timezone.now()
    review.touched_by_human = True
    return _save(review, actor, fields)


@transaction.atomic
def review_close(*, review: Review, actor: User, at: datetime | None = None) -> Review:
    review = _locked(review)
    _require_manager(actor=actor, review=review)
    if review.status != ReviewStatus.ACKNOWLEDGED:
        raise status_error(review.get_status_display(), ReviewStatus.ACKNOWLEDGED.label)
    review.status = ReviewStatus.CLOSED
    review.closed_at = at or timezone.now()
    review.touched_by_human = True
    return _save(review, actor, ["status", "closed_at", "touched_by_human"])


# --- action items -------------------------------------------------------------------------------------


def _clean_item_text(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise DomainError({"text": [_("Describe the action.")]})
    if len(value.strip()) > 500:
        raise DomainError({"text": [_("At most 500 characters.")]})
    return value.strip()


def _clean_due(value: Any) -> date | None:
    if value is None or isinstance(value, date):
        return value
    raise DomainError({"due_date": [_("Enter a date (YYYY-MM-DD).")]})


@transaction.atomic
def action_item_add(*, review: Review, actor: User, text: str, due_date: date | None = None) -> ActionItem:
    review = _locked(review)
    _require_manager(actor=actor, review=review)
    if review.status == ReviewStatus.CLOSED:
        raise status_error(review.get_status_display(), _("not closed"))
    item = ActionItem(review=review, text=_clean_item_text(text), due_date=_clean_due(due_date))
    item._history_user = actor  # type: ignore[attr-defined]
    item.save()
    if not review.touched_by_human:
        review.touched_by_human = True
        _save(review, actor, ["touched_by_human"])
    return item


@transaction.atomic
def action_item_update(*, item: ActionItem, actor: User, **fields: Any) -> ActionItem:
    """The manager edits ``text`` and ``due_date``; the manager or the rep marks it ``done`` (or not)."""
    item = ActionItem.objects.select_for_update().select_related("review__cycle").get(pk=item.pk)
    review = item.review
    is_manager = is_reviews_manager(actor=actor, review=review)
    is_rep = actor.pk == review.user_id
    unknown = set(fields) - {"text", "due_date", "done"}
    if unknown:
        raise DomainError({name: [_("This field cannot be changed.")] for name in sorted(unknown)})
    if not (is_manager or (is_rep and review.status != ReviewStatus.DRAFT)):
        raise ReviewActionForbidden(_("You cannot edit this action item."))
    if is_rep and not is_manager:
        denied: dict[str, list[str]] = {
            n: [_("Only the rep's manager can change this.")] for n in ("text", "due_date") if n in fields
        }
        if denied:
            raise ReviewFieldForbidden(denied)
    if ("text" in fields or "due_date" in fields) and review.status == ReviewStatus.CLOSED:
        raise status_error(review.get_status_display(), _("not closed"))
    changed: list[str] = []
    if "text" in fields:
        item.text = _clean_item_text(fields["text"])
        changed.append("text")
    if "due_date" in fields:
        item.due_date = _clean_due(fields["due_date"])
        changed.append("due_date")
    if "done" in fields:
        done = fields["done"]
        if not isinstance(done, bool):
            raise DomainError({"done": [_("Must be true or false.")]})
        if done and item.done_at is None:
            item.done_at = timezone.now()
            changed.append("done_at")
        elif not done and item.done_at is not None:
            item.done_at = None
            changed.append("done_at")
    if item.done_at is not None and item.is_overdue:
        item.is_overdue = False
        changed.append("is_overdue")
    if not changed:
        return item
    item._history_user = actor  # type: ignore[attr-defined]
    item.save(update_fields=[*changed, "updated_at"])
    if "done_at" in changed and item.done_at is not None:
        _complete_copies(item)
    return item


@transaction.atomic
def action_item_delete(*, item: ActionItem, actor: User) -> None:
    """The manager removes an item from a draft. Once shared the rep has seen it: it stays on the record
    (edit it, or tick it done)."""
    item = ActionItem.objects.select_for_update().select_related("review__cycle").get(pk=item.pk)
    review = item.review
    _require_manager(actor=actor, review=review)
    if review.status != ReviewStatus.DRAFT:
        raise status_error(review.get_status_display(), ReviewStatus.DRAFT.label)
    item._history_user = actor  # type: ignore[attr-defined]
    item.delete()


def _complete_copies(item: ActionItem) -> None:
    """An item carried over from earlier reviews is one commitment: done here means done everywhere."""
    root = item.carried_from_id or item.pk
    ActionItem.objects.filter(Q(pk=root) | Q(carried_from_id=root), done_at__isnull=True).exclude(pk=item.pk).update(
        done_at=item.done_at, is_overdue=False
    )


def action_item_complete(*, item: ActionItem, actor: User) -> ActionItem:
    return action_item_update(item=item, actor=actor, done=True)


def action_items_flag_overdue(*, as_of: date) -> int:
    """One UPDATE: open items due before ``as_of`` are overdue, everything else is not. Returns rows changed."""
    overdue = Q(done_at__isnull=True, due_date__lt=as_of)
    return ActionItem.objects.filter((overdue & Q(is_overdue=False)) | (~overdue & Q(is_overdue=True))).update(
        is_overdue=Case(When(overdue, then=Value(True)), default=Value(False))
    )
