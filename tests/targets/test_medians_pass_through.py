"""Median days in stage count the stays in a deal's resting stages only: a rung a skip passes, or one below
the stage a deal is created at, is left at the instant it is entered and is no stay (not a 0.0-day one) —
live, in full and incremental nightly snapshots alike."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from decimal import Decimal

import pytest

from pipeline.models import Stage
from pipeline.services import deal_move
from targets.models import FunnelSnapshot
from targets.periods import Period, org_tz
from targets.selectors import Scope, funnel
from targets.services import nightly_run, snapshots_compute
from tests.factories import AccountFactory, ContactFactory, make_deal
from tests.targets.test_nightly import funnel_rows

pytestmark = pytest.mark.django_db

PERIOD = Period.current().previous()
RUN_DAY = PERIOD.start + timedelta(days=20)


def at(day: int, hour: int = 10) -> datetime:
    return datetime.combine(PERIOD.start + timedelta(days=day), time(hour), org_tz())


def _medians(scope: Scope, as_of=None) -> dict[str, float]:  # type: ignore[no-untyped-def]
    result = funnel(scope=scope, period=PERIOD, as_of=as_of)
    return {s.stage: s.median_days_in_stage for s in result.stages if s.median_days_in_stage is not None}


@pytest.fixture
def skips(org):  # type: ignore[no-untyped-def]
    """alice: one deal climbs prep (2 days) → contact (3 days) → skips needs → proposal (4 days) →
    negotiation; another is created directly at needs on day 2 (it leaves needs in the tests)."""
    account = AccountFactory(owner=org.alice)
    climber = make_deal(
        owner=org.alice,
        stage=Stage.PREP,
        at=at(1),
        account=account,
        contact=ContactFactory(account=account),
        needs_summary="Wants a pilot",
        amount=Decimal("1000.00"),
        expected_close_date=date(2027, 1, 31),
    )
    deal_move(deal=climber, to_stage=Stage.CONTACT, actor=org.alice, at=at(3))
    deal_move(deal=climber, to_stage=Stage.PROPOSAL, actor=org.alice, at=at(6))
    deal_move(deal=climber, to_stage=Stage.NEGOTIATION, actor=org.alice, at=at(10))
    return make_deal(
        owner=org.alice, stage=Stage.NEEDS, at=at(2), needs_summary="Wants a pilot", amount=Decimal("500.00")
    )


def test_skipped_and_created_past_rungs_are_not_stays(org, skips):  # type: ignore[no-untyped-def]
    deal_move(deal=skips, to_stage=Stage.PROPOSAL, actor=org.alice, at=at(7))

    # was prep 1.0, contact 1.5, needs 2.5 (the 0.0-day "stays" in the rungs passed through)
    assert _medians(Scope.for_user(org.alice)) == {"prep": 2.0, "contact": 3.0, "needs": 5.0, "proposal": 4.0}


def test_nightly_medians_full_and_incremental_leave_out_the_rungs_passed_through(org, skips):  # type: ignore[no-untyped-def]
    nightly_run(run_date=PERIOD.start + timedelta(days=6))  # the climber's stays up to its skip
    deal_move(deal=skips, to_stage=Stage.PROPOSAL, actor=org.alice, at=at(7))

    nightly_run(run_date=RUN_DAY)
    incremental = funnel_rows(RUN_DAY)
    snapshots_compute(as_of=RUN_DAY, incremental=False)

    assert funnel_rows(RUN_DAY) == incremental
    rows = FunnelSnapshot.objects.filter(scope_type="user", scope_id=org.alice.pk, period=PERIOD.key, as_of=RUN_DAY)
    stored = {r.stage: r.median_days_in_stage for r in rows if r.median_days_in_stage is not None}
    assert stored == {"prep": 2.0, "contact": 3.0, "needs": 5.0, "proposal": 4.0}
    assert _medians(Scope.for_user(org.alice), as_of=RUN_DAY) == stored
    assert _medians(Scope.for_team(org.east), as_of=RUN_DAY) == stored
