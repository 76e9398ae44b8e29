"""draft → shared → acknowledged → closed: every step, every refusal, and the history it leaves."""

from __future__ import annotations

from datetime import date

import pytest

from reviews.errors import ReviewActionForbidden, ReviewFieldForbidden, ReviewStatusError
from reviews.models import ActionItem, Review, ReviewStatus
from reviews.selectors import review_history
from reviews.services import (
    action_item_add,
    action_item_complete,
    action_item_update,
    action_items_flag_overdue,
    review_acknowledge,
    review_close,
    review_share,
    review_update,
)
from salesladder.errors import DomainError


@pytest.fixture
def draft(org, make_review):  # type: ignore[no-untyped-def]
    return make_review(org.alice, org.east)


def test_full_workflow_records_times_and_who(org, draft):
    review_update(review=draft, actor=org.manager, rating=4, strengths="Fast follow-ups", improvements="Qualify")
    shared = review_share(review=draft, actor=org.manager)
    assert shared.status == ReviewStatus.SHARED
    assert shared.shared_at is not None
    assert shared.reviewer == org.manager

    review_update(review=shared, actor=org.alice, rep_comment="Agreed, will qualify harder")
    acknowledged = review_acknowledge(review=shared, actor=org.alice)
    assert acknowledged.status == ReviewStatus.ACKNOWLEDGED
    assert acknowledged.acknowledged_at is not None

    closed = review_close(review=acknowledged, actor=org.manager)
    assert closed.status == ReviewStatus.CLOSED
    assert closed.closed_at is not None
    stored = Review.objects.get(pk=draft.pk)
    assert (stored.rating, stored.rep_comment, stored.status) == (4, "Agreed, will qualify harder", "closed")


def test_a_parent_team_manager_and_an_admin_act_as_managers(org, make_review):
    nina_review = make_review(org.nina, org.east_north)
    review_update(review=nina_review, actor=org.manager, rating=2)  # East's manager, parent team
    dave_review = make_review(org.dave, org.west)
    review_update(review=dave_review, actor=org.admin, rating=5)

    assert Review.objects.get(pk=nina_review.pk).rating == 2
    assert Review.objects.get(pk=dave_review.pk).rating == 5


def test_share_needs_a_rating(org, draft):
    with pytest.raises(DomainError) as exc:
        review_share(review=draft, actor=org.manager)

    assert "rating" in exc.value.errors
    assert Review.objects.get(pk=draft.pk).status == ReviewStatus.DRAFT


@pytest.mark.parametrize(
    ("status", "step"),
    [
        (ReviewStatus.SHARED, "share"),
        (ReviewStatus.ACKNOWLEDGED, "share"),
        (ReviewStatus.CLOSED, "share"),
        (ReviewStatus.DRAFT, "acknowledge"),
        (ReviewStatus.ACKNOWLEDGED, "acknowledge"),
        (ReviewStatus.CLOSED, "acknowledge"),
        (ReviewStatus.DRAFT, "close"),
        (ReviewStatus.SHARED, "close"),
        (ReviewStatus.CLOSED, "close"),
    ],
)
def test_steps_out_of_order_are_refused_on_status(org, make_review, status, step):
    review = make_review(org.alice, org.east, status=status, rating=3)
    actor = org.alice if step == "acknowledge" else org.manager
    service = {"share": review_share, "acknowledge": review_acknowledge, "close": review_close}[step]

    with pytest.raises(ReviewStatusError) as exc:
        service(review=review, actor=actor)

    assert "status" in exc.value.errors
    assert Review.objects.get(pk=review.pk).status == status


@pytest.mark.parametrize(
    ("status", "step", "who"),
    [
        (ReviewStatus.DRAFT, "share", "alice"),  # the rep cannot share their own review
        (ReviewStatus.DRAFT, "share", "mgr_west"),  # another team's manager
        (ReviewStatus.SHARED, "acknowledge", "manager"),  # only the rep acknowledges
        (ReviewStatus.SHARED, "acknowledge", "bob"),
        (ReviewStatus.ACKNOWLEDGED, "close", "alice"),
    ],
)
def test_steps_by_the_wrong_role_are_refused(org, make_review, status, step, who):
    review = make_review(org.alice, org.east, status=status, rating=3)
    service = {"share": review_share, "acknowledge": review_acknowledge, "close": review_close}[step]

    with pytest.raises(ReviewActionForbidden):
        service(review=review, actor=getattr(org, who))

    assert Review.objects.get(pk=review.pk).status == status


@pytest.mark.parametrize("field", ["rating", "strengths", "improvements", "manager_comment"])
def test_the_rep_cannot_change_manager_fields(org, make_review, field):
    review = make_review(org.alice, org.east, status=ReviewStatus.SHARED, rating=3, strengths="orig")
    value = 5 if field == "rating" else "I am great"

    with pytest.raises(ReviewFieldForbidden) as exc:
        review_update(review=review, actor=org.alice, **{field: value})

    assert list(exc.value.errors) == [field]
    stored = Review.objects.get(pk=review.pk)
    assert (stored.rating, stored.strengths) == (3, "orig")


def test_the_manager_cannot_write_the_rep_comment(org, make_review):
    review = make_review(org.alice, org.east, status=ReviewStatus.SHARED, rating=3)

    with pytest.raises(ReviewFieldForbidden) as exc:
        review_update(review=review, actor=org.manager, rep_comment="Rep agrees")

    assert list(exc.value.errors) == ["rep_comment"]


def test_manager_text_is_frozen_once_acknowledged_and_rep_comment_waits_for_sharing(org, make_review):
    acknowledged = make_review(org.alice, org.east, status=ReviewStatus.ACKNOWLEDGED, rating=3)
    draft = make_review(org.bob, org.east)

    with pytest.raises(ReviewStatusError):
        review_update(review=acknowledged, actor=org.manager, rating=1)
    with pytest.raises(ReviewStatusError):
        review_update(review=draft, actor=org.bob, rep_comment="early")

    assert Review.objects.get(pk=acknowledged.pk).rating == 3


@pytest.mark.parametrize("rating", [0, 6, -1, "4", 2.5, True])
def test_rating_must_be_1_to_5(org, draft, rating):
    with pytest.raises(DomainError) as exc:
        review_update(review=draft, actor=org.manager, rating=rating)

    assert "rating" in exc.value.errors
    assert Review.objects.get(pk=draft.pk).rating is None


def test_history_records_who_changed_what(org, draft):
    review_update(review=draft, actor=org.manager, rating=4, strengths="Persistent")
    review_share(review=draft, actor=org.manager)
    review_update(review=draft, actor=org.alice, rep_comment="Thanks")
    item = action_item_add(review=draft, actor=org.manager, text="Shadow a senior rep", due_date=date(2026, 11, 30))
    action_item_complete(item=item, actor=org.alice)

    entries = review_history(review=draft)

    changes = [
        (e["object"], e["by"], {c["field"]: c["new"] for c in e["changes"]})
        for e in entries
        if e["action"] == "changed"
    ]
    # the internal "edited by a person" flag is bookkeeping, not a change a reader needs to see
    assert ("review", org.manager.pk, {"rating": 4, "strengths": "Persistent"}) in changes
    share = next(c for c in changes if "status" in c[2])
    assert share[1] == org.manager.pk
    assert share[2]["status"] == "shared"
    assert share[2]["reviewer_id"] == org.manager.pk
    assert share[2]["shared_at"] is not None
    assert ("review", org.alice.pk, {"rep_comment": "Thanks"}) in changes
    done = [c for c in changes if c[0] == "action_item"]
    assert done[0][1] == org.alice.pk
    assert "done_at" in done[0][2]
    rating_change = next(c for e in entries for c in e["changes"] if c["field"] == "rating")
    assert (rating_change["old"], rating_change["new"]) == (None, 4)
    assert Review.history.filter(id=draft.pk, history_user=org.manager).count() == 2  # edit, share


def test_action_items_manager_edits_rep_completes(org, make_review):
    review = make_review(org.alice, org.east, status=ReviewStatus.SHARED, rating=3)
    item = action_item_add(review=review, actor=org.manager, text="  Call 5 lapsed customers ", due_date=None)
    assert item.text == "Call 5 lapsed customers"

    with pytest.raises(ReviewFieldForbidden):
        action_item_update(item=item, actor=org.alice, text="Call 1 customer")
    with pytest.raises(ReviewActionForbidden):
        action_item_add(review=review, actor=org.alice, text="Self-assigned")
    with pytest.raises(DomainError) as exc:
        action_item_add(review=review, actor=org.manager, text="   ")
    assert "text" in exc.value.errors

    action_item_update(item=item, actor=org.manager, due_date=date(2026, 12, 1))
    completed = action_item_complete(item=item, actor=org.alice)
    assert completed.done_at is not None
    assert ActionItem.objects.get(pk=item.pk).due_date == date(2026, 12, 1)


def test_no_action_items_on_a_closed_review(org, make_review):
    review = make_review(org.alice, org.east, status=ReviewStatus.CLOSED, rating=3)

    with pytest.raises(ReviewStatusError):
        action_item_add(review=review, actor=org.manager, text="Too late")


def test_completing_a_carried_item_completes_the_original(org, make_review):
    september = make_review(org.alice, org.east, period="2026-09", status=ReviewStatus.CLOSED, rating=3)
    october = make_review(org.alice, org.east)
    original = ActionItem.objects.create(review=september, text="Renew certification")
    carried = ActionItem.objects.create(review=october, text="Renew certification", carried_from=original)

    action_item_complete(item=carried, actor=org.manager)

    assert ActionItem.objects.get(pk=original.pk).done_at is not None


def test_overdue_flags_in_one_update(org, make_review, django_assert_num_queries):
    review = make_review(org.alice, org.east)
    late = ActionItem.objects.create(review=review, text="late", due_date=date(2026, 11, 1))
    due_today = ActionItem.objects.create(review=review, text="today", due_date=date(2026, 11, 10))
    no_date = ActionItem.objects.create(review=review, text="whenever")
    done_late = ActionItem.objects.create(review=review, text="done", due_date=date(2026, 11, 1), is_overdue=True)
    ActionItem.objects.filter(pk=done_late.pk).update(done_at="2026-11-05T10:00:00Z")

    with django_assert_num_queries(1):
        changed = action_items_flag_overdue(as_of=date(2026, 11, 10))

    flags = dict(ActionItem.objects.values_list("text", "is_overdue"))
    assert flags == {"late": True, "today": False, "whenever": False, "done": False}
    assert changed == 2
    assert action_items_flag_overdue(as_of=date(2026, 11, 10)) == 0
    assert {late.pk, due_today.pk, no_date.pk}


def test_a_shared_review_keeps_a_rating_and_reps_cannot_touch_draft_items(org, make_review):
    shared = make_review(org.alice, org.east, status=ReviewStatus.SHARED, rating=3)
    draft = make_review(org.bob, org.east)
    item = action_item_add(review=draft, actor=org.manager, text="Plan Q1 territory")

    with pytest.raises(DomainError) as exc:
        review_update(review=shared, actor=org.manager, rating=None)
    with pytest.raises(ReviewActionForbidden):
        action_item_complete(item=item, actor=org.bob)

    assert list(exc.value.errors) == ["rating"]
    assert Review.objects.get(pk=shared.pk).rating == 3
    assert ActionItem.objects.get(pk=item.pk).done_at is None
    review_update(review=draft, actor=org.manager, rating=None, strengths="Draft notes")  # a draft may stay unrated
    assert Review.objects.get(pk=draft.pk).strengths == "Draft notes"
