"""Demo reviews for ``manage.py seed_demo`` (called through its hook after the pipeline and targets data).

Monthly cycles for East and West; the three months before the anchor's month are reviewed with real
scorecards (``review_drafts_create`` over the demo deals) and walked through the workflow by the
services: the oldest month closed, the next acknowledged or closed, the last one in every status from
untouched draft to acknowledged. Action items are added, some done, some left overdue. Deterministic:
the same anchor gives the same reviews; a second call changes nothing.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from reviews.models import ActionItem, CycleKind, Review, ReviewCycle, ReviewStatus
from reviews.services import (
    action_item_add,
    action_item_complete,
    action_items_flag_overdue,
    review_acknowledge,
    review_close,
    review_drafts_create,
    review_share,
    review_update,
)
from salesladder.org.models import Team, User
from targets.periods import Period, org_tz

MONTHS = 3

# (rating, strengths, improvements, manager comment, rep comment), cycled by rep and month.
NOTES = [
    (
        4,
        "Consistent first contacts and clean notes on every deal.",
        "Move proposals to negotiation faster; too many wait more than two weeks.",
        "A solid month. Let's work on closing technique together.",
        "Agreed. I will ask for the decision date in every proposal meeting.",
    ),
    (
        3,
        "Good discovery calls; customers describe their needs clearly afterwards.",
        "Prospecting volume is below the ladder: aim for 100 new leads a month.",
        "Pipeline is thin at the top. Block two mornings a week for prospecting.",
        "Fair. Trade-show leads came late this month, next month will be better.",
    ),
    (
        5,
        "Top signings of the team and excellent follow-up on open quotes.",
        "Share your negotiation playbook with the newer reps.",
        "Outstanding results. Please run a short session for the team.",
        "Happy to, I will prepare it for the next team meeting.",
    ),
    (
        2,
        "Responsive to inbound leads.",
        "Several deals went stale in needs analysis; log activities and set next steps.",
        "We need to get back on pace. Weekly check-ins until the pipeline recovers.",
        "",
    ),
]
ACTIONS = [
    "Review all deals idle for more than 14 days and set a next step",
    "Shadow a senior rep on two negotiation calls",
    "Add the decision date to every open proposal",
    "Prepare a 15-minute playbook session for the team",
    "Reach 100 new leads in preparation this month",
]


def _at(day: date, hour: int = 10) -> datetime:
    return datetime.combine(day, time(hour), org_tz())


def seed_demo_reviews(*, anchor: date) -> int:
    """Returns the number of reviews created (0 on a second call)."""
    teams = {t.name: t for t in Team.objects.filter(name__in=["East", "West"])}
    for team in teams.values():
        ReviewCycle.objects.get_or_create(team=team, kind=CycleKind.MONTH)
    managers = {u.username: u for u in User.objects.filter(username__in=["manager", "mgr_west"])}
    current = Period.month_of(anchor)
    periods = current.last(MONTHS + 1)[:-1]  # the months before the anchor's, oldest first
    created = 0
    for index, period in enumerate(periods):
        age = len(periods) - 1 - index  # 0 = the month just before the anchor's
        end = period.end - timedelta(days=1)
        new = review_drafts_create(period=period, as_of=end)
        created += len(new)
        for n, review in enumerate(sorted(new, key=lambda r: r.user.username)):
            team_manager = managers.get("mgr_west" if review.cycle.team.name == "West" else "manager")
            if team_manager is None:
                continue
            _walk(review, manager=team_manager, age=age, n=n + index, period=period)
    action_items_flag_overdue(as_of=anchor)
    return created


def _walk(review: Review, *, manager: User, age: int, n: int, period: Period) -> None:
    """Take one draft as far as its age says: old months closed, last month spread over every status."""
    rating, strengths, improvements, comment, rep_comment = NOTES[n % len(NOTES)]
    rep = review.user
    if age == 0 and n % 4 == 0:
        return  # an untouched draft the manager has not started
    review = review_update(
        review=review,
        actor=manager,
        rating=rating,
        strengths=strengths,
        improvements=improvements,
        manager_comment=comment,
    )
    due = period.end + timedelta(days=14 + 7 * (n % 3))
    first = action_item_add(review=review, actor=manager, text=ACTIONS[n % len(ACTIONS)], due_date=due)
    second = action_item_add(
        review=review, actor=manager, text=ACTIONS[(n + 2) % len(ACTIONS)], due_date=due + timedelta(7)
    )
    if age == 0 and n % 4 == 1:
        return  # a draft in progress
    review = review_share(review=review, actor=manager, at=_at(period.end + timedelta(days=2)))
    if age == 0 and n % 4 == 2:
        return  # shared, waiting for the rep
    if rep_comment:
        review = review_update(review=review, actor=rep, rep_comment=rep_comment)
    review = review_acknowledge(review=review, actor=rep, at=_at(period.end + timedelta(days=4)))
    if age >= 1:  # older commitments mostly kept; the rest are carried over and go overdue
        action_item_complete(item=first, actor=rep)
        if n % 3 == 0:
            action_item_complete(item=second, actor=rep)
    if age >= 2 or (age == 1 and n % 2 == 1):
        review_close(review=review, actor=manager, at=_at(period.end + timedelta(days=6)))


def demo_review_counts() -> dict[str, int]:
    return {
        **{s: Review.objects.filter(status=s).count() for s in ReviewStatus.values},
        "action_items": ActionItem.objects.count(),
        "overdue": ActionItem.objects.filter(is_overdue=True).count(),
    }
