"""Drafts at period end: one per rep of every team, none for managers, idempotent, never overwriting."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from pipeline.models import Stage
from reviews.models import ActionItem, CycleKind, Review, ReviewCycle, ReviewStatus
from reviews.nightly import review_nightly
from reviews.services import (
    action_item_add,
    period_to_review,
    review_drafts_create,
    review_share,
    review_update,
)
from salesladder.org.models import Membership
from salesladder.org.services import membership_set
from targets.periods import Period
from tests.factories import TeamFactory, make_deal, manager

OCT = Period.parse("2026-10")
OCT_END = date(2026, 10, 31)


def test_a_draft_for_every_rep_of_every_team_and_none_for_managers(org):
    # when
    created = review_drafts_create(period=OCT, as_of=OCT_END)

    # then
    reviewed = {r.user.username for r in created}
    assert reviewed == {"alice", "bob", "nina", "dave"}
    assert not reviewed & {"manager", "north_manager", "mgr_west", "admin"}
    assert {r.status for r in created} == {ReviewStatus.DRAFT}
    assert {r.period for r in created} == {"2026-10"}
    by_user = {r.user.username: r for r in Review.objects.select_related("cycle__team", "reviewer")}
    assert by_user["nina"].cycle.team == org.east_north
    assert by_user["nina"].reviewer == org.north_manager
    assert by_user["dave"].reviewer == org.mgr_west
    assert by_user["alice"].scorecard["schema_version"] == 1


def test_teams_without_a_cycle_get_a_default_monthly_one_and_teams_without_reps_get_none(org):
    # given
    empty = TeamFactory(name="Board")
    manager(empty, username="chair")

    # when
    review_drafts_create(period=OCT, as_of=OCT_END)

    # then
    cycles = {(c.team.name, c.kind) for c in ReviewCycle.objects.select_related("team")}
    assert cycles == {("East", "month"), ("East North", "month"), ("West", "month")}


def test_a_quarterly_team_gets_no_monthly_review_but_a_quarterly_one(org):
    # given
    ReviewCycle.objects.create(team=org.west, kind=CycleKind.QUARTER)

    # when
    monthly = review_drafts_create(period=OCT, as_of=OCT_END)
    quarterly = review_drafts_create(period=Period.parse("2026-Q3"), as_of=date(2026, 9, 30))

    # then
    assert "dave" not in {r.user.username for r in monthly}
    assert [(r.user.username, r.period) for r in quarterly] == [("dave", "2026-Q3")]


def test_inactive_cycle_gets_no_drafts(org):
    ReviewCycle.objects.create(team=org.west, kind=CycleKind.MONTH, is_active=False)

    created = review_drafts_create(period=OCT, as_of=OCT_END)

    assert "dave" not in {r.user.username for r in created}


def test_second_run_creates_nothing_and_keeps_a_touched_review(org):
    # given: the first run, then the manager works on alice's review
    review_drafts_create(period=OCT, as_of=OCT_END)
    alice_review = Review.objects.get(user=org.alice, period="2026-10")
    review_update(review=alice_review, actor=org.manager, rating=4, strengths="Great discovery calls")
    frozen = Review.objects.get(pk=alice_review.pk).scorecard
    make_deal(owner=org.alice, stage=Stage.PROPOSAL)  # new activity after the freeze

    # when
    again = review_drafts_create(period=OCT, as_of=OCT_END)

    # then
    assert again == []
    assert Review.objects.filter(period="2026-10").count() == 4
    alice_review.refresh_from_db()
    assert alice_review.rating == 4
    assert alice_review.strengths == "Great discovery calls"
    assert alice_review.scorecard == frozen
    assert alice_review.touched_by_human is True


def test_open_action_items_are_carried_into_the_next_review_and_overdue_ones_shown(org):
    # given: September reviewed with two action items, one done
    review_drafts_create(period=Period.parse("2026-09"), as_of=date(2026, 9, 30))
    september = Review.objects.get(user=org.alice, period="2026-09")
    review_update(review=september, actor=org.manager, rating=3)
    review_share(review=september, actor=org.manager)
    open_item = action_item_add(review=september, actor=org.manager, text="Book 10 demos", due_date=date(2026, 10, 15))
    done_item = action_item_add(review=september, actor=org.manager, text="Clean up CRM", due_date=date(2026, 10, 1))
    ActionItem.objects.filter(pk=done_item.pk).update(done_at=datetime(2026, 9, 30, tzinfo=ZoneInfo("UTC")))

    # when
    review_drafts_create(period=OCT, as_of=OCT_END)

    # then
    october = Review.objects.get(user=org.alice, period="2026-10")
    carried = list(october.action_items.all())
    assert [(i.text, i.carried_from_id) for i in carried] == [("Book 10 demos", open_item.pk)]
    previous = october.scorecard["previous_action_items"]
    assert {(p["text"], p["done"], p["overdue"]) for p in previous} == {
        ("Book 10 demos", False, True),
        ("Clean up CRM", True, False),
    }


def test_the_nightly_run_on_the_last_day_closes_that_period_else_the_one_before():
    assert period_to_review(as_of=date(2026, 10, 31), kind="month").key == "2026-10"
    assert period_to_review(as_of=date(2026, 11, 1), kind="month").key == "2026-10"
    assert period_to_review(as_of=date(2026, 11, 15), kind="month").key == "2026-10"
    assert period_to_review(as_of=date(2026, 12, 31), kind="quarter").key == "2026-Q4"
    assert period_to_review(as_of=date(2026, 11, 15), kind="quarter").key == "2026-Q3"


def _members_since(when: datetime) -> None:
    """The org fixture's people joined their teams today; these nightly runs look back at October."""
    Membership.objects.update(created_at=when)


def test_nightly_hook_creates_the_drafts_once(org):
    _members_since(datetime(2026, 9, 1, tzinfo=ZoneInfo("UTC")))
    first = review_nightly(run_date=date(2026, 11, 1))
    second = review_nightly(run_date=date(2026, 11, 2))

    assert first["2026-10"] == 4
    assert second["2026-10"] == 0
    assert Review.objects.filter(period="2026-10").count() == 4


def test_the_nightly_catch_up_skips_reps_who_joined_or_moved_after_the_period(org):
    """A rep hired (or moved into East) in November has no October in that team: the nightly runs of
    November create no October draft for them there; the team's October reps still get theirs."""
    _members_since(datetime(2026, 9, 1, tzinfo=ZoneInfo("UTC")))
    joined_late = Membership.objects.filter(user__in=[org.bob]).update(
        created_at=datetime(2026, 11, 3, tzinfo=ZoneInfo("UTC"))
    )
    assert joined_late == 1
    membership_set(user=org.dave, team=org.east, role="rep")  # moves today, from West

    review_nightly(run_date=date(2026, 11, 1))  # before the hire: bob was not in East yet either
    review_nightly(run_date=date(2026, 11, 27))

    assert set(Review.objects.filter(period="2026-10").values_list("user__username", "cycle__team__name")) == {
        ("alice", "East"),
        ("nina", "East North"),
    }


def test_an_explicit_run_for_an_old_period_still_reviews_todays_reps(org):
    """``review_drafts_create`` called by hand (catching up a period on purpose, the demo) keeps reading
    membership as it is now."""
    review_drafts_create(period=OCT)

    assert Review.objects.filter(period="2026-10").count() == 4


def test_the_targets_nightly_run_creates_drafts_through_the_registered_hook(org):
    from targets.services import NIGHTLY_HOOKS, nightly_run

    assert review_nightly in NIGHTLY_HOOKS
    _members_since(datetime(2026, 9, 1, tzinfo=ZoneInfo("UTC")))

    nightly_run(run_date=date(2026, 11, 1))

    assert set(Review.objects.filter(period="2026-10").values_list("user__username", flat=True)) == {
        "alice",
        "bob",
        "nina",
        "dave",
    }


def test_drafts_have_history_rows_and_carried_items_too(org, make_review):
    september = make_review(org.alice, org.east, period="2026-09", status=ReviewStatus.CLOSED, rating=3)
    ActionItem.objects.create(review=september, text="Finish product training")

    review_drafts_create(period=OCT, as_of=OCT_END)

    october = Review.objects.get(user=org.alice, period="2026-10")
    assert list(october.history.values_list("history_type", "history_user")) == [("+", None)]
    carried = october.action_items.get()
    assert list(carried.history.values_list("history_type", flat=True)) == ["+"]


def test_draft_creation_query_count_does_not_grow_with_reps(org, django_assert_max_num_queries):
    from tests.factories import rep

    def run(period: Period) -> int:
        return len(review_drafts_create(period=period, as_of=period.end))

    run(Period.parse("2026-08"))  # default cycles exist from here on
    with django_assert_max_num_queries(60) as small:
        assert run(Period.parse("2026-09")) == 4
    for i in range(20):
        rep(org.east, username=f"extra{i}")
    with django_assert_max_num_queries(60) as large:
        assert run(OCT) == 24

    assert len(large.captured_queries) == len(small.captured_queries)
