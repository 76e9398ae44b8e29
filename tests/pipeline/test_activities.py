"""activity_log and activity_complete: the stale clock and idempotent completion."""

import datetime

import pytest

from pipeline.models import ActivityKind, Deal
from pipeline.services import activity_complete, activity_log
from salesladder.errors import DomainError
from tests.factories import make_deal

T0 = datetime.datetime(2026, 8, 1, 9, 0, tzinfo=datetime.UTC)


def test_logging_an_activity_restarts_the_stale_clock(org):
    # given
    deal = make_deal(owner=org.alice, at=T0)
    Deal.objects.filter(pk=deal.pk).update(is_stale=True)
    at = T0 + datetime.timedelta(days=20)

    # when
    activity = activity_log(deal=deal, kind=ActivityKind.CALL, subject="Intro call", actor=org.alice, at=at)

    # then
    fresh = Deal.objects.get(pk=deal.pk)
    assert (fresh.last_activity_at, fresh.is_stale) == (at, False)
    assert activity.done_at == at  # calls are done when logged


def test_a_back_dated_activity_does_not_move_the_clock_backwards(org):
    deal = make_deal(owner=org.alice, at=T0)
    activity_log(
        deal=deal, kind=ActivityKind.EMAIL, subject="Sent deck", actor=org.alice, at=T0 + datetime.timedelta(days=5)
    )

    activity_log(
        deal=deal, kind=ActivityKind.NOTE, subject="Old note", actor=org.alice, at=T0 + datetime.timedelta(days=1)
    )

    assert Deal.objects.get(pk=deal.pk).last_activity_at == T0 + datetime.timedelta(days=5)


def test_a_task_stays_open_until_completed(org):
    deal = make_deal(owner=org.alice)
    due = T0 + datetime.timedelta(days=3)

    task = activity_log(deal=deal, kind=ActivityKind.TASK, subject="Send quote", actor=org.alice, due_at=due, at=T0)

    assert (task.done_at, task.due_at, task.is_done) == (None, due, False)


def test_a_task_without_a_due_date_is_refused(org):
    deal = make_deal(owner=org.alice)

    with pytest.raises(DomainError) as exc:
        activity_log(deal=deal, kind=ActivityKind.TASK, subject="Someday", actor=org.alice)

    assert list(exc.value.errors) == ["due_at"]
    assert deal.activities.count() == 0


@pytest.mark.parametrize(("kind", "subject", "field"), [("fax", "Hello", "kind"), ("call", "  ", "subject")])
def test_bad_activity_input_is_a_field_error(org, kind, subject, field):
    deal = make_deal(owner=org.alice)

    with pytest.raises(DomainError) as exc:
        activity_log(deal=deal, kind=kind, subject=subject, actor=org.alice)

    assert list(exc.value.errors) == [field]
    assert deal.activities.count() == 0


def test_completing_a_task_touches_the_deal_and_is_idempotent(org):
    # given
    deal = make_deal(owner=org.alice, at=T0)
    task = activity_log(
        deal=deal,
        kind=ActivityKind.TASK,
        subject="Send quote",
        actor=org.alice,
        due_at=T0 + datetime.timedelta(days=2),
        at=T0,
    )
    Deal.objects.filter(pk=deal.pk).update(is_stale=True)
    done_at = T0 + datetime.timedelta(days=2)

    # when
    first = activity_complete(activity=task, actor=org.alice, at=done_at)
    second = activity_complete(activity=task, actor=org.alice, at=done_at + datetime.timedelta(hours=5))

    # then
    assert first.done_at == done_at
    assert second.done_at == done_at
    fresh = Deal.objects.get(pk=deal.pk)
    assert (fresh.last_activity_at, fresh.is_stale) == (done_at, False)
