"""Won and lost follow one rule everywhere (live, nightly snapshots full and incremental, review scorecards):
each deal counts once per period, by its last closing there — won, or lost when its last loss in the
period is not followed by a reopening in the period; lost reasons are over exactly the lost deals."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from decimal import Decimal

import pytest

from pipeline.models import LostReason, Stage
from pipeline.services import deal_lose, deal_move, deal_reopen
from reviews.scorecard import scorecards_build
from targets.models import ScopeSnapshot
from targets.periods import Period, org_tz
from targets.selectors import Scope, outcomes
from targets.services import nightly_run, snapshots_compute
from tests.factories import make_deal

pytestmark = pytest.mark.django_db

PERIOD = Period.current().previous()
RUN_DAY = PERIOD.start + timedelta(days=20)


def at(day: int, hour: int = 10) -> datetime:
    return datetime.combine(PERIOD.start + timedelta(days=day), time(hour), org_tz())


def _reason(code: str) -> LostReason:
    return LostReason.objects.get(code=code)


@pytest.fixture
def month(org):  # type: ignore[no-untyped-def]
    """alice's deals of the month: lost → reopened → won; lost → reopened; lost → reopened → lost again;
    won at once. bob loses a deal alice had lost earlier in the month and reopened."""
    alice = org.alice

    def deal(stage: str = Stage.NEGOTIATION):  # type: ignore[no-untyped-def]
        return make_deal(owner=alice, stage=stage, at=at(1), contract_amount=Decimal("100.00"))

    came_back, reopened, twice, won = deal(), deal(), deal(), deal()
    deal_lose(deal=came_back, reason=_reason("price"), actor=alice, at=at(3))
    deal_reopen(deal=came_back, actor=alice, at=at(4))
    deal_move(deal=came_back, to_stage=Stage.SIGNING, actor=alice, at=at(5), fields={"signed_on": at(5).date()})
    deal_lose(deal=reopened, reason=_reason("price"), actor=alice, at=at(3))
    deal_reopen(deal=reopened, actor=alice, at=at(6))
    deal_lose(deal=twice, reason=_reason("price"), actor=alice, at=at(2))
    deal_reopen(deal=twice, actor=alice, at=at(3))
    deal_lose(deal=twice, reason=_reason("timing"), actor=alice, at=at(7))
    deal_move(deal=won, to_stage=Stage.SIGNING, actor=alice, at=at(8), fields={"signed_on": at(8).date()})
    return org


def test_one_rule_for_won_lost_and_reasons_live(month):  # type: ignore[no-untyped-def]
    result = outcomes(scope=Scope.for_user(month.alice), period=PERIOD, as_of=RUN_DAY)

    assert (result.won_count, result.lost_count) == (2, 1)  # was 2 won / 3 lost
    assert result.win_rate == pytest.approx(2 / 3)
    assert result.lost_reasons == {"timing": 1}
    assert result.won_amount == Decimal("200.00")


def test_the_deciding_transition_attributes_the_deal(month):  # type: ignore[no-untyped-def]
    # a deal alice lost and reopened is lost for good by bob later in the month: bob's loss, not alice's
    alice, bob = month.alice, month.bob
    deal = make_deal(owner=alice, stage=Stage.CONTACT, at=at(1))
    deal_lose(deal=deal, reason=_reason("price"), actor=alice, at=at(2))
    deal_reopen(deal=deal, actor=alice, at=at(3))
    deal.owner = bob
    deal.save(update_fields=["owner"])
    deal_lose(deal=deal, reason=_reason("timing"), actor=bob, at=at(9))

    mine = outcomes(scope=Scope.for_user(alice), period=PERIOD, as_of=RUN_DAY)
    his = outcomes(scope=Scope.for_user(bob), period=PERIOD, as_of=RUN_DAY)
    team = outcomes(scope=Scope.for_team(month.east), period=PERIOD, as_of=RUN_DAY)

    assert (mine.lost_count, mine.lost_reasons) == (1, {"timing": 1})
    assert (his.lost_count, his.lost_reasons) == (1, {"timing": 1})
    assert (team.won_count, team.lost_count, sum(team.lost_reasons.values())) == (2, 2, 2)


def test_a_deal_lost_in_the_period_and_reopened_after_it_keeps_counting_as_lost_there(month):  # type: ignore[no-untyped-def]
    deal = make_deal(owner=month.alice, stage=Stage.CONTACT, at=at(1))
    deal_lose(deal=deal, reason=_reason("price"), actor=month.alice, at=at(10))
    deal_reopen(deal=deal, actor=month.alice, at=PERIOD.bounds()[1] + timedelta(hours=1))

    result = outcomes(scope=Scope.for_user(month.alice), period=PERIOD)

    assert result.lost_count == 2
    assert result.lost_reasons == {"timing": 1, "": 1}  # its reason went with the reopening
    assert sum(result.lost_reasons.values()) == result.lost_count


def test_nightly_snapshots_full_and_incremental_and_scorecards_follow_the_rule(month):  # type: ignore[no-untyped-def]
    alice = month.alice
    nightly_run(run_date=RUN_DAY - timedelta(days=10))  # after day 10: every event above is in
    late = make_deal(owner=alice, stage=Stage.NEGOTIATION, at=at(11), contract_amount=Decimal("50.00"))
    deal_lose(deal=late, reason=_reason("price"), actor=alice, at=at(12))
    deal_reopen(deal=late, actor=alice, at=at(13))
    deal_move(deal=late, to_stage=Stage.SIGNING, actor=alice, at=at(14), fields={"signed_on": at(14).date()})

    nightly_run(run_date=RUN_DAY)  # incremental: the late deal's loss is undone by its win
    row = ScopeSnapshot.objects.get(scope_type="user", scope_id=alice.pk, period=PERIOD.key, as_of=RUN_DAY)
    incremental = (row.won_count, row.lost_count, row.won_amount, row.lost_reasons)
    snapshots_compute(as_of=RUN_DAY, periods=[PERIOD], incremental=False)
    row.refresh_from_db()

    assert incremental == (3, 1, Decimal("250.00"), {"timing": 1})
    assert (row.won_count, row.lost_count, row.won_amount, row.lost_reasons) == incremental
    card = scorecards_build(team=month.east, period=PERIOD, as_of=RUN_DAY, user_ids=[alice.pk])[alice.pk]
    assert card["outcomes"]["won_count"] == 3
    assert card["outcomes"]["lost_count"] == 1
    assert card["outcomes"]["lost_reasons"] == {"timing": 1}
    assert card["outcomes"]["win_rate"] == pytest.approx(0.75)
