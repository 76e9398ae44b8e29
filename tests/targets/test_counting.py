"""SPEC §3 counting rules, case by case, through the services."""

from __future__ import annotations

from datetime import datetime, time, timedelta

import pytest

from pipeline.models import LostReason, Stage, TransitionKind
from pipeline.models import StageTransition as T
from pipeline.services import deal_lose, deal_move, deal_reopen, deal_update
from targets.periods import Period, org_tz
from targets.selectors import Scope, attainment, funnel, outcomes
from tests.factories import make_deal
from tests.targets.builders import new_deals, set_quotas, tr

PERIOD = Period.current().previous()  # fully elapsed
NEXT = PERIOD.next()
TZ = org_tz()


def at(day: int, hour: int = 10, minute: int = 0, period: Period = PERIOD) -> datetime:
    return datetime.combine(period.start + timedelta(days=day), time(hour, minute), TZ)


def entered(scope: Scope, period: Period = PERIOD) -> list[int]:
    return [s.entered for s in funnel(scope=scope, period=period).stages]


@pytest.mark.django_db
def test_period_boundaries_follow_the_org_time_zone(org):  # type: ignore[no-untyped-def]
    # given a deal created at 23:30 local on the period's last day (already the next day in UTC when the
    # zone is west of UTC, still the same day in UTC east of it: either way the local day counts)
    last_day = PERIOD.days - 1
    (late,) = new_deals(owner=org.alice, team=org.east, n=1, at=at(last_day, 23, 30))
    (early,) = new_deals(owner=org.alice, team=org.east, n=1, at=at(0, 0, 0, NEXT))
    T.objects.bulk_create(
        [
            tr(late, TransitionKind.CREATE, Stage.PREP, at(last_day, 23, 30)),
            tr(early, "create", "prep", at(0, 0, 0, NEXT)),
        ]
    )

    assert entered(Scope.for_user(org.alice))[0] == 1
    assert entered(Scope.for_user(org.alice), NEXT)[0] == 1
    assert at(last_day, 23, 30).astimezone(TZ).date() == PERIOD.end - timedelta(days=1)


@pytest.mark.django_db
def test_entries_count_for_the_owner_at_that_moment(org):  # type: ignore[no-untyped-def]
    # given alice creates a deal, then it is handed to dave (West) who moves it to contact
    deal = make_deal(owner=org.alice, at=at(2))
    deal_update(deal=deal, actor=org.admin, owner=org.dave)
    deal_move(deal=deal, to_stage=Stage.CONTACT, actor=org.dave, at=at(3))

    # then prep counts for alice and East, contact for dave and West
    assert entered(Scope.for_user(org.alice))[:2] == [1, 0]
    assert entered(Scope.for_user(org.dave))[:2] == [0, 1]
    assert entered(Scope.for_team(org.east))[:2] == [1, 0]
    assert entered(Scope.for_team(org.west))[:2] == [0, 1]
    assert entered(Scope.org())[:2] == [1, 1]


@pytest.mark.django_db
def test_double_entry_counts_once_and_backward_then_forward_is_an_entry(org):  # type: ignore[no-untyped-def]
    deal = make_deal(owner=org.alice, stage=Stage.NEEDS, at=at(1))
    deal_move(deal=deal, to_stage=Stage.CONTACT, actor=org.alice, at=at(2))  # backward: not an entry
    before = entered(Scope.for_user(org.alice))
    deal_move(deal=deal, to_stage=Stage.NEEDS, actor=org.alice, at=at(3))  # forward again: an entry

    assert before[:3] == [1, 1, 1]
    assert entered(Scope.for_user(org.alice))[:3] == [1, 1, 1]  # same deal twice in the period: once
    assert T.objects.filter(deal=deal, to_stage=Stage.NEEDS, kind=TransitionKind.FORWARD).count() == 2


@pytest.mark.django_db
def test_backward_move_then_forward_in_the_next_period_enters_again(org):  # type: ignore[no-untyped-def]
    deal = make_deal(owner=org.alice, stage=Stage.NEEDS, at=at(1))
    deal_move(deal=deal, to_stage=Stage.PREP, actor=org.alice, at=at(2))
    deal_move(deal=deal, to_stage=Stage.CONTACT, actor=org.alice, at=at(1, period=NEXT))

    assert entered(Scope.for_user(org.alice)) == [1, 1, 1, 0, 0, 0]
    assert entered(Scope.for_user(org.alice), NEXT) == [0, 1, 0, 0, 0, 0]


@pytest.mark.django_db
def test_lose_and_reopen_are_not_entries_but_outcomes(org):  # type: ignore[no-untyped-def]
    deal = make_deal(owner=org.alice, stage=Stage.CONTACT, at=at(1))
    reason = LostReason.objects.first()
    deal_lose(deal=deal, reason=reason, actor=org.alice, at=at(2))
    deal_reopen(deal=deal, actor=org.alice, at=at(3))
    deal_lose(deal=deal, reason=reason, actor=org.alice, at=at(4))
    won = make_deal(owner=org.alice, stage=Stage.SIGNING, at=at(5))

    assert entered(Scope.for_user(org.alice)) == [2, 2, 1, 1, 1, 1]
    result = outcomes(scope=Scope.for_user(org.alice), period=PERIOD)
    assert (result.won_count, result.lost_count, result.win_rate) == (1, 1, 0.5)
    assert result.lost_reasons == {reason.code: 1}
    assert result.won_amount == won.contract_amount


@pytest.mark.django_db
def test_team_rolls_up_sub_teams_and_counts_a_deal_once(org):  # type: ignore[no-untyped-def]
    # nina (East North) creates a deal, bob (East) takes it over and moves it on
    deal = make_deal(owner=org.nina, at=at(1))
    make_deal(owner=org.alice, at=at(1))
    deal_update(deal=deal, actor=org.admin, owner=org.bob)
    deal_move(deal=deal, to_stage=Stage.CONTACT, actor=org.bob, at=at(2))
    make_deal(owner=org.dave, at=at(1))

    assert entered(Scope.for_team(org.east_north))[:2] == [1, 0]
    assert entered(Scope.for_team(org.east))[:2] == [2, 1]
    assert entered(Scope.org())[:2] == [3, 1]


@pytest.mark.django_db
def test_team_quota_is_the_sum_of_its_reps_unless_set(org):  # type: ignore[no-untyped-def]
    from targets.models import Quota

    set_quotas(user=org.alice, period=PERIOD)
    set_quotas(user=org.nina, period=PERIOD, values=[10, 5, 2, 1, 1, 1])
    team = Scope.for_team(org.east)
    assert [s.quota for s in funnel(scope=team, period=PERIOD).stages] == [110, 55, 22, 11, 6, 4]

    Quota.objects.create(period=PERIOD.key, team=org.east, stage=Stage.PREP, value=500)
    assert funnel(scope=team, period=PERIOD).stages[0].quota == 500
    totals = attainment(scope=team, period=PERIOD)
    assert totals.row(None, Stage.PREP).quota == 500


@pytest.mark.django_db
def test_pace_compares_attainment_with_the_elapsed_share(org):  # type: ignore[no-untyped-def]
    from targets.selectors.results import PaceStatus

    current = Period.current()
    set_quotas(user=org.alice, period=current, values=[10, 10, 10, 10, 10, 10])
    result = attainment(scope=Scope.for_user(org.alice), period=current)

    row = result.row(org.alice.pk, Stage.PREP)
    assert (row.entered, row.attainment, row.pace, row.pace_status) == (0, 0.0, 0.0, PaceStatus.AT_RISK)
    assert 0 < result.elapsed_share <= 1


@pytest.mark.django_db
def test_median_days_in_stage(org):  # type: ignore[no-untyped-def]
    a = make_deal(owner=org.alice, at=at(1))
    b = make_deal(owner=org.alice, at=at(1))
    c = make_deal(owner=org.alice, at=at(1))
    deal_move(deal=a, to_stage=Stage.CONTACT, actor=org.alice, at=at(2))  # 1 day in prep
    deal_move(deal=b, to_stage=Stage.CONTACT, actor=org.alice, at=at(4))  # 3 days
    deal_move(deal=c, to_stage=Stage.CONTACT, actor=org.alice, at=at(11, 10))  # 10 days

    figures = funnel(scope=Scope.for_user(org.alice), period=PERIOD)
    assert figures.stages[0].median_days_in_stage == pytest.approx(3.0)
    assert figures.stages[1].median_days_in_stage is None  # nobody left contact yet
