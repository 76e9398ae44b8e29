"""Activities on a deal: calls, e-mails, meetings and notes (done when logged) and tasks (open until
completed). Any activity touches the deal: it clears the stale flag and restarts the stale clock."""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.db.models import Case, F, Q, Value, When
from django.utils import timezone
from django.utils.translation import gettext as _

from pipeline.models import Activity, ActivityKind, Deal
from salesladder.errors import DomainError
from salesladder.org.models import User


def _touch(*, deal_id: int, at: datetime) -> None:
    """Restart the deal's stale clock; a back-dated activity never moves ``last_activity_at`` backwards."""
    newer = Q(last_activity_at__isnull=True) | Q(last_activity_at__lt=at)
    Deal.objects.filter(pk=deal_id).update(
        last_activity_at=Case(When(newer, then=Value(at)), default=F("last_activity_at")),
        is_stale=False,
        updated_at=timezone.now(),
    )


@transaction.atomic
def activity_log(
    *,
    deal: Deal,
    kind: str,
    subject: str,
    actor: User,
    body: str = "",
    due_at: datetime | None = None,
    done: bool | None = None,
    at: datetime | None = None,
) -> Activity:
    """Log a call, email, meeting or note (done when logged) or add a task (open until completed).

    Any activity counts as touching the deal: it clears the stale flag and restarts the stale clock.
    """
    at = at or timezone.now()
    if kind not in ActivityKind.values:
        raise DomainError({"kind": [_("Unknown activity kind.")]})
    if not subject.strip():
        raise DomainError({"subject": [_("This field may not be blank.")]})
    if done is None:
        done = kind != ActivityKind.TASK
    if kind == ActivityKind.TASK and due_at is None and not done:
        raise DomainError({"due_at": [_("A task needs a due date.")]})
    activity = Activity.objects.create(
        deal=deal,
        kind=kind,
        subject=subject.strip(),
        body=body,
        due_at=due_at,
        done_at=at if done else None,
        owner=actor,
        created_at=at,
    )
    _touch(deal_id=deal.pk, at=at)
    return activity


@transaction.atomic
def activity_complete(*, activity: Activity, actor: User, at: datetime | None = None) -> Activity:
    at = at or timezone.now()
    activity = Activity.objects.select_for_update().get(pk=activity.pk)
    if activity.done_at is not None:
        return activity  # completing twice is harmless: retries and double clicks
    activity.done_at = at
    activity.save(update_fields=["done_at"])
    _touch(deal_id=activity.deal_id, at=at)
    return activity
