"""Incremental nightly runs equal a full recompute after the changes a delta could miss: moves written
into the past (they change the stay of the move after them), a won deal's amount, a reopened deal of
the previous period, a team moved in the tree; and the stored stays equal the live median."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from decimal import Decimal

import pytest

from pipeline.models import Deal, LostReason, Stage, StageTransition, TransitionKind
from pipeline.services import deal_lose, deal_move, deal_reopen, deal_update
from targets.models import FunnelSnapshot, ScopeSnapshot
from targets.periods import Period, org_tz
from targets.selectors import Scope, funnel
from targets.selectors.funnel import window
from targets.services import nightly_run, snapshots_compute
from tests.factories import AccountFactory, ContactFactory, make_deal
from tests.targets.test_nightly import funnel_rows, scope_rows

PREVIOUS = Period.current().previous()
OLDER = PREVIOUS.previous()
RUN_DAY = PREVIOUS.start + timedelta(days=20)  # snapshots of OLDER and PREVIOUS
TZ = org_tz()


def at(period: Period, day: int, hour: int = 10) -> datetime:
    return datetime.combine(period.start + timedelta(days=day), time(hour), TZ)


def assert_incremental_equals_full(run_day) -> dict:  # type: ignore[no-untyped-def]
    """Run incrementally for ``run_day``, then recompute the same day from scratch: same rows."""
    stats = nightly_run(run_date=run_day)
    incremental, incremental_scope = funnel_rows(run_day), scope_rows(run_day)
    snapshots_compute(as_of=run_day, incremental=False)
    assert funnel_rows(run_day) == incremental
    assert scope_rows(run_day) == incremental_scope
    return stats


def _deal(owner, when):  # type: ignore[no-untyped-def]
    """A prep deal with what the gates up to proposal ask for."""
    account = AccountFactory(owner=owner)
    return make_deal(
        owner=owner,
        at=when,
        account=account,
        contact=ContactFactory(account=account),
        needs_summary="Wants a pilot",
        amount=Decimal("1000.00"),
    )


@pytest.fixture
def climbed(org):  # type: ignore[no-untyped-def]
    """A few deals of alice and nina climbing through the previous period, one lost."""
    deals = [_deal(org.alice, at(PREVIOUS, d)) for d in (1, 2, 3)]
    deals.append(_deal(org.nina, at(PREVIOUS, 2)))
    for i, deal in enumerate(deals):
        deal_move(deal=deal, to_stage=Stage.CONTACT, actor=deal.owner, at=at(PREVIOUS, 5 + i))
    deal_move(deal=deals[0], to_stage=Stage.NEEDS, actor=org.alice, at=at(PREVIOUS, 12))
    deal_lose(deal=deals[3], reason=LostReason.objects.first(), actor=org.nina, at=at(PREVIOUS, 14))
    return deals


@pytest.mark.django_db
def test_moves_written_into_the_past_rewrite_the_stay_after_them(org, climbed):  # type: ignore[no-untyped-def]
    run_day = RUN_DAY
    nightly_run(run_date=run_day)
    deal = climbed[1]
    # an import adds history older than last night's run: into contact on day 3, back to prep on day 4
    # (the exit on day 6 from contact is now a stay that began on day 4, not on day 2)
    StageTransition.objects.bulk_create(
        [
            StageTransition(
                deal=deal,
                kind=kind,
                from_stage=frm,
                to_stage=to,
                to_status="open",
                occurred_at=at(PREVIOUS, day),
                channel="import",
                owner=org.alice,
                team=org.east,
            )
            for kind, frm, to, day in (
                (TransitionKind.FORWARD, Stage.PREP, Stage.CONTACT, 3),
                (TransitionKind.BACKWARD, Stage.CONTACT, Stage.PREP, 4),
            )
        ]
    )
    stats = assert_incremental_equals_full(run_day + timedelta(days=1))

    assert stats["stays_filled"] == 3  # the two new moves and the one after them
    stays = dict(
        StageTransition.objects.filter(deal=deal, kind__in=["forward", "backward"]).values_list(
            "occurred_at", "stay_started_at"
        )
    )
    assert stays == {
        at(PREVIOUS, 3): at(PREVIOUS, 2),
        at(PREVIOUS, 4): at(PREVIOUS, 3),
        at(PREVIOUS, 6): at(PREVIOUS, 4),
    }
    # the nightly medians (stored stays) are the live ones (computed from the history)
    alice = Scope.for_user(org.alice)
    snap = {
        r.stage: r.median_days_in_stage
        for r in FunnelSnapshot.objects.filter(
            scope_type="user", scope_id=org.alice.pk, period=PREVIOUS.key, as_of=run_day + timedelta(days=1)
        )
        if r.median_days_in_stage is not None
    }
    live_sql = _live_medians(alice, PREVIOUS, run_day + timedelta(days=1))
    assert snap == live_sql
    # prep stays ending in the period: 4, 1, 2, 4 days; contact: 7 (deal 0), 1 (the imported one)
    assert snap == {Stage.PREP: 3.0, Stage.CONTACT: 4.0}


def _live_medians(scope: Scope, period: Period, as_of):  # type: ignore[no-untyped-def]
    from targets.selectors import sql
    from targets.selectors.funnel import grouping_for

    start, cutoff = window(period, as_of)
    got = sql.median_days(grouping_for(scope, scope.team_ids()), start=start, cutoff=cutoff)
    return {stage: v for (_sid, stage), v in got.items()}


@pytest.mark.django_db
def test_an_amount_change_on_a_won_deal_reaches_an_older_periods_won_amount(org):  # type: ignore[no-untyped-def]
    won = make_deal(owner=org.alice, stage=Stage.SIGNING, at=at(OLDER, 3))
    nightly_run(run_date=RUN_DAY)
    deal_update(deal=Deal.objects.get(pk=won.pk), actor=org.alice, contract_amount=Decimal("12000.00"))

    stats = assert_incremental_equals_full(RUN_DAY + timedelta(days=1))

    assert stats["periods"][OLDER.key] == "unchanged"
    row = ScopeSnapshot.objects.get(
        scope_type="user", scope_id=org.alice.pk, period=OLDER.key, as_of=RUN_DAY + timedelta(days=1)
    )
    assert (row.won_count, row.won_amount) == (1, Decimal("12000.00"))


@pytest.mark.django_db
def test_a_deal_lost_in_an_older_period_and_reopened_now_loses_its_reason_there(org):  # type: ignore[no-untyped-def]
    lost = make_deal(owner=org.nina, stage=Stage.CONTACT, at=at(OLDER, 2))
    deal_lose(deal=lost, reason=LostReason.objects.first(), actor=org.nina, at=at(OLDER, 4))
    nightly_run(run_date=RUN_DAY)
    before = ScopeSnapshot.objects.get(scope_type="team", scope_id=org.east.pk, period=OLDER.key, as_of=RUN_DAY)
    assert sum(before.lost_reasons.values()) == 1
    deal_reopen(deal=Deal.objects.get(pk=lost.pk), actor=org.nina)  # now: after both periods

    stats = assert_incremental_equals_full(RUN_DAY + timedelta(days=1))

    after = ScopeSnapshot.objects.get(
        scope_type="team", scope_id=org.east.pk, period=OLDER.key, as_of=RUN_DAY + timedelta(days=1)
    )
    # lost in the period (its last closing there), so it stays in the period's lost deals, whose reasons add
    # up to the lost count: the reopening cleared its reason, so it counts under "" (was: left out)
    assert (after.lost_count, after.lost_reasons) == (1, {"": 1})
    assert stats["periods"][OLDER.key] == "unchanged"  # nothing new among its entries and exits


@pytest.mark.django_db
def test_a_team_moved_in_the_tree_makes_the_next_run_full(org, climbed):  # type: ignore[no-untyped-def]
    nightly_run(run_date=RUN_DAY)
    org.east_north.parent = org.west
    org.east_north.save()

    stats = assert_incremental_equals_full(RUN_DAY + timedelta(days=1))

    assert stats["periods"][PREVIOUS.key] == "full"
    west = {
        r.stage: r.entered
        for r in FunnelSnapshot.objects.filter(
            scope_type="team", scope_id=org.west.pk, period=PREVIOUS.key, as_of=RUN_DAY + timedelta(days=1)
        )
    }
    assert west[Stage.PREP] == 1  # nina's deal now counts for West


@pytest.mark.django_db
def test_a_new_move_is_counted_once_and_untouched_periods_are_kept(org, climbed):  # type: ignore[no-untyped-def]
    nightly_run(run_date=RUN_DAY)
    deal = Deal.objects.get(pk=climbed[2].pk)
    deal_move(deal=deal, to_stage=Stage.NEEDS, actor=org.alice, at=at(PREVIOUS, 20, 15))  # same day, after the run
    deal_move(deal=deal, to_stage=Stage.CONTACT, actor=org.alice, at=at(PREVIOUS, 20, 16))
    deal_move(deal=deal, to_stage=Stage.NEEDS, actor=org.alice, at=at(PREVIOUS, 21, 9))  # needs again: once

    stats = assert_incremental_equals_full(RUN_DAY + timedelta(days=1))

    assert stats["periods"] == {OLDER.key: "unchanged", PREVIOUS.key: "incremental"}
    alice = funnel(scope=Scope.for_user(org.alice), period=PREVIOUS, as_of=RUN_DAY + timedelta(days=1))
    assert [s.entered for s in alice.stages] == [3, 3, 2, 0, 0, 0]


@pytest.mark.django_db
def test_a_move_records_its_stay_and_the_next_run_checks_it_against_the_history(org, climbed):  # type: ignore[no-untyped-def]
    nightly_run(run_date=RUN_DAY)
    deal = Deal.objects.get(pk=climbed[2].pk)
    deal_move(deal=deal, to_stage=Stage.NEEDS, actor=org.alice, at=at(PREVIOUS, 20, 15))
    move = StageTransition.objects.filter(deal=deal).latest("pk")
    assert move.stay_started_at == at(PREVIOUS, 7)  # in contact since its move on day 7
    # a wrong record (say, a stage clock edited by hand): the next run puts the history's value back
    StageTransition.objects.filter(pk=move.pk).update(stay_started_at=at(PREVIOUS, 1), stay_bucket=1)

    stats = assert_incremental_equals_full(RUN_DAY + timedelta(days=1))

    move.refresh_from_db()
    assert move.stay_started_at == at(PREVIOUS, 7)
    assert stats["stays_filled"] == 1


@pytest.mark.django_db
def test_an_owner_with_exits_but_no_entry_in_the_period_keeps_them_when_their_row_appears(org):  # type: ignore[no-untyped-def]
    """A manager moves their own deal back in the period (an exit, no entry there); later they create a deal
    there and their row appears: its stays and median count the earlier exit, as a full recompute does."""
    deal = make_deal(owner=org.manager, stage=Stage.CONTACT, at=at(OLDER, 5))
    deal_move(deal=Deal.objects.get(pk=deal.pk), to_stage=Stage.PREP, actor=org.manager, at=at(PREVIOUS, 3))
    make_deal(owner=org.alice, stage=Stage.CONTACT, at=at(PREVIOUS, 1))
    assert_incremental_equals_full(RUN_DAY)
    row = FunnelSnapshot.objects.get(
        scope_type="user", scope_id=org.manager.pk, period=PREVIOUS.key, as_of=RUN_DAY, stage=Stage.CONTACT
    )
    assert row.entered == 0
    assert row.median_days_in_stage is not None  # the stay in contact that the move back ended

    make_deal(owner=org.manager, stage=Stage.PREP, at=at(PREVIOUS, 20, 18))
    assert_incremental_equals_full(RUN_DAY + timedelta(days=1))
