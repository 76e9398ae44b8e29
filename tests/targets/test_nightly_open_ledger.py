"""The open-deal figures of an incremental nightly run (open/stale counts, weighted pipeline) come from a
per-deal ledger updated with the deals changed since the previous run; they must equal a full recompute
after every kind of change: a stale flag flipped by the run itself, an owner handed over, an amount or a
close date edited, a deal closed; a stage probability changed or a deal deleted makes the run full."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone
from hypothesis import given
from hypothesis import strategies as st

from pipeline.models import Deal, LostReason, Stage, StageConfig, StageTransition
from pipeline.services import deal_lose, deal_reopen, deal_update
from targets import nightly_ledger
from targets.models import NightlyLedgerState, NightlyOpenDeal, NightlyOpenTotal, ScopeSnapshot
from targets.nightly_scope import units_text
from targets.services import nightly_run
from tests.factories import make_deal
from tests.targets.test_nightly_incremental import OLDER, PREVIOUS, RUN_DAY, assert_incremental_equals_full, at

NEXT_DAY = RUN_DAY + timedelta(days=1)


def _scope(scope_type: str, scope_id: int, as_of=NEXT_DAY) -> ScopeSnapshot:  # type: ignore[no-untyped-def]
    return ScopeSnapshot.objects.get(scope_type=scope_type, scope_id=scope_id, period=PREVIOUS.key, as_of=as_of)


@pytest.fixture
def open_deals(org):  # type: ignore[no-untyped-def]
    """Open deals of alice (East) and nina (East North) with amounts and close dates, one run behind them."""
    deals = [
        make_deal(owner=org.alice, stage=Stage.NEEDS, at=at(OLDER, 3), amount=Decimal("1000.05")),
        make_deal(owner=org.alice, stage=Stage.PROPOSAL, at=at(PREVIOUS, 2), amount=Decimal("333.33")),
        make_deal(owner=org.nina, stage=Stage.CONTACT, at=at(PREVIOUS, 4), amount=Decimal("12.34")),
    ]
    Deal.objects.filter(pk=deals[0].pk).update(expected_close_date=PREVIOUS.start + timedelta(days=40))
    Deal.objects.filter(pk__in=[d.pk for d in deals]).update(last_activity_at=timezone.now())
    stats = assert_incremental_equals_full(RUN_DAY)
    assert stats["ledger"]["mode"] == "full"  # the first run builds the ledger
    return deals


@pytest.mark.django_db
def test_an_owner_handed_over_moves_the_open_deal_between_reps_and_teams(org, open_deals):  # type: ignore[no-untyped-def]
    deal_update(deal=Deal.objects.get(pk=open_deals[2].pk), actor=org.manager, owner=org.alice)

    stats = assert_incremental_equals_full(NEXT_DAY)

    assert stats["ledger"]["mode"] == "incremental"
    assert _scope("user", org.alice.pk).open_count == 3
    assert _scope("user", org.nina.pk).open_count == 0
    assert _scope("team", org.east_north.pk).weighted_pipeline == {}


@pytest.mark.django_db
def test_an_amount_and_close_date_edit_of_an_open_deal_reach_the_pipeline(org, open_deals):  # type: ignore[no-untyped-def]
    before = _scope("org", 0, as_of=RUN_DAY).weighted_pipeline
    deal = Deal.objects.get(pk=open_deals[1].pk)
    deal_update(deal=deal, actor=org.alice, amount=Decimal("777.77"), expected_close_date=PREVIOUS.start)

    assert_incremental_equals_full(NEXT_DAY)

    after = _scope("org", 0).weighted_pipeline
    assert after != before
    assert PREVIOUS.key in after  # the edited deal now closes in the previous period's month


@pytest.mark.django_db
def test_a_deal_lost_leaves_the_open_figures(org, open_deals):  # type: ignore[no-untyped-def]
    deal_lose(deal=Deal.objects.get(pk=open_deals[0].pk), reason=LostReason.objects.first(), actor=org.alice)

    assert_incremental_equals_full(NEXT_DAY)

    assert _scope("user", org.alice.pk).open_count == 1
    assert not NightlyOpenDeal.objects.filter(deal_id=open_deals[0].pk).exists()


@pytest.mark.django_db
def test_a_stale_flag_the_run_sets_reaches_the_stale_count(org, open_deals):  # type: ignore[no-untyped-def]
    assert _scope("user", org.nina.pk, as_of=RUN_DAY).stale_count == 0
    quiet = timezone.now() - timedelta(days=365)
    # time passes: the deal's clock is old now, but nothing edited it (updated_at unchanged)
    Deal.objects.filter(pk=open_deals[2].pk).update(last_activity_at=quiet, created_at=quiet)

    stats = assert_incremental_equals_full(NEXT_DAY)

    assert stats["stale_changed"] == 1
    assert (_scope("user", org.nina.pk).stale_count, _scope("team", org.east.pk).stale_count) == (1, 1)


@pytest.mark.django_db
def test_a_crash_that_empties_the_ledger_makes_the_next_run_rebuild_it(org, open_deals):  # type: ignore[no-untyped-def]
    # given: an edit since the last run, then a crash: PostgreSQL empties the UNLOGGED ledger, its totals and
    # the state table on recovery (emptied by hand here)
    deal_update(deal=Deal.objects.get(pk=open_deals[1].pk), actor=org.alice, amount=Decimal("50.00"))
    for model in (NightlyOpenDeal, NightlyOpenTotal, NightlyLedgerState):
        model.objects.all().delete()

    stats = assert_incremental_equals_full(NEXT_DAY)

    # then: the run rebuilt the ledger (adding the edit to an empty one would count one open deal of three)
    assert stats["ledger"]["mode"] == "full"
    assert (_scope("user", org.alice.pk).open_count, _scope("team", org.east.pk).open_count) == (2, 3)
    assert NightlyOpenDeal.objects.count() == 3
    assert NightlyLedgerState.objects.count() == 1


@pytest.mark.django_db
def test_a_run_building_on_a_complete_ledger_only_adds_the_changes(org, open_deals):  # type: ignore[no-untyped-def]
    # a ledger row the changes do not touch is kept as it is, not rebuilt from the deal
    untouched = NightlyOpenDeal.objects.get(deal_id=open_deals[0].pk)
    NightlyOpenDeal.objects.filter(pk=untouched.pk).update(units=untouched.units + 1)
    Deal.objects.filter(pk=untouched.pk).update(updated_at=timezone.now() - timedelta(days=1))  # not changed since
    deal_update(deal=Deal.objects.get(pk=open_deals[1].pk), actor=org.alice, amount=Decimal("50.00"))

    stats = nightly_run(run_date=NEXT_DAY)

    assert stats["ledger"]["mode"] == "incremental"
    assert NightlyOpenDeal.objects.get(pk=untouched.pk).units == untouched.units + 1


@pytest.mark.postgres
@pytest.mark.django_db
def test_the_ledger_tables_are_unlogged_on_postgresql(org, open_deals):  # type: ignore[no-untyped-def]
    # a crash empties them all together, which the state table's missing row then tells the next run
    tables = [m._meta.db_table for m in (NightlyOpenDeal, NightlyOpenTotal, NightlyLedgerState)]
    with connection.cursor() as cursor:
        cursor.execute("SELECT relname, relpersistence FROM pg_class WHERE relname = ANY(%s)", [tables])
        assert dict(cursor.fetchall()) == dict.fromkeys(tables, "u")
        # the full run that built it dropped the primary key for the load and built it again
        cursor.execute(
            "SELECT COUNT(*) FROM pg_constraint WHERE conrelid = %s::regclass AND contype = 'p'", [tables[0]]
        )
        assert cursor.fetchone()[0] == 1


@pytest.mark.django_db
def test_a_changed_stage_probability_makes_the_next_run_full(org, open_deals):  # type: ignore[no-untyped-def]
    before = _scope("user", org.alice.pk, as_of=RUN_DAY).weighted_pipeline
    StageConfig.objects.filter(stage=Stage.PROPOSAL).update(probability=90)

    stats = assert_incremental_equals_full(NEXT_DAY)

    assert set(stats["periods"].values()) == {"full"}
    assert stats["ledger"]["mode"] == "full"
    assert _scope("user", org.alice.pk).weighted_pipeline != before


@pytest.mark.django_db
def test_a_deleted_deal_makes_the_next_run_full(org, open_deals):  # type: ignore[no-untyped-def]
    Deal.objects.get(pk=open_deals[1].pk).delete()

    stats = assert_incremental_equals_full(NEXT_DAY)

    assert set(stats["periods"].values()) == {"full"}
    assert stats["ledger"]["mode"] == "full"
    assert _scope("user", org.alice.pk).open_count == 1
    entered = {r["stage"]: r["entered"] for r in _funnel_rows(org.alice.pk)}
    assert entered[Stage.PROPOSAL] == 0  # its history went with it


def _funnel_rows(user_id: int) -> list[dict]:
    from targets.models import FunnelSnapshot

    rows = FunnelSnapshot.objects.filter(scope_type="user", scope_id=user_id, period=PREVIOUS.key, as_of=NEXT_DAY)
    return list(rows.values("stage", "entered"))


@pytest.mark.django_db
def test_pipeline_sums_stay_exact_to_the_cent(org, open_deals):  # type: ignore[no-untyped-def]
    # amount × probability has four decimals: the totals keep them all and a run rounds only at the end
    deal_update(deal=Deal.objects.get(pk=open_deals[0].pk), actor=org.alice, expected_close_date=None)
    deal_update(deal=Deal.objects.get(pk=open_deals[1].pk), actor=org.alice, expected_close_date=None)
    stats = assert_incremental_equals_full(NEXT_DAY)
    assert stats["ledger"]["mode"] == "incremental"
    probability = dict(StageConfig.objects.values_list("stage", "probability"))
    exact = (Decimal("1000.05") * probability[Stage.NEEDS] + Decimal("333.33") * probability[Stage.PROPOSAL]) / 100
    assert _scope("user", org.alice.pk).weighted_pipeline == {"": str(exact.quantize(Decimal("0.01")))}


@pytest.mark.django_db
def test_a_lost_deals_new_reason_moves_it_in_the_lost_reason_mix(org, open_deals):  # type: ignore[no-untyped-def]
    price, other = LostReason.objects.all()[:2]
    lost = make_deal(owner=org.nina, stage=Stage.CONTACT, at=at(PREVIOUS, 5))
    deal_lose(deal=lost, reason=price, actor=org.nina, at=at(PREVIOUS, 6))
    assert_incremental_equals_full(RUN_DAY)
    edited = Deal.objects.get(pk=lost.pk)  # as the admin edits it
    edited.lost_reason = other
    edited.save()

    stats = assert_incremental_equals_full(NEXT_DAY)

    assert stats["outcomes"] == {OLDER.key: "incremental", PREVIOUS.key: "incremental"}
    assert _scope("team", org.east.pk).lost_reasons == {other.code: 1}
    assert _scope("team", org.east.pk).lost_count == 1


@pytest.mark.django_db
def test_a_won_amount_edit_and_a_new_win_count_once_each(org, open_deals):  # type: ignore[no-untyped-def]
    won = make_deal(owner=org.alice, stage=Stage.SIGNING, at=at(PREVIOUS, 3), contract_amount=Decimal("100.10"))
    assert_incremental_equals_full(RUN_DAY)
    deal_update(deal=Deal.objects.get(pk=won.pk), actor=org.alice, contract_amount=Decimal("250.25"))
    make_deal(owner=org.bob, stage=Stage.SIGNING, at=at(PREVIOUS, 20, 18), contract_amount=Decimal("1.01"))

    stats = assert_incremental_equals_full(NEXT_DAY)

    assert stats["outcomes"][PREVIOUS.key] == "incremental"
    east = _scope("team", org.east.pk)
    assert (east.won_count, east.won_amount) == (2, Decimal("251.26"))


@pytest.mark.django_db
def test_a_backfilled_day_counts_outcomes_from_scratch_and_the_next_run_stays_exact(org, open_deals):  # type: ignore[no-untyped-def]
    won = make_deal(owner=org.alice, stage=Stage.SIGNING, at=at(PREVIOUS, 3), contract_amount=Decimal("10.00"))
    later = RUN_DAY + timedelta(days=2)
    assert_incremental_equals_full(later)
    deal_update(deal=Deal.objects.get(pk=won.pk), actor=org.alice, contract_amount=Decimal("20.00"))

    backfill = assert_incremental_equals_full(NEXT_DAY)  # builds on RUN_DAY's run; the ledger is `later`'s
    assert set(backfill["outcomes"].values()) == {"full"}
    after = assert_incremental_equals_full(later + timedelta(days=1))

    assert set(after["outcomes"].values()) == {"full"}  # the ledger was written for the backfilled day
    row = _scope("user", org.alice.pk, as_of=later + timedelta(days=1))
    assert row.won_amount == Decimal("20.00")


@given(st.integers(min_value=-(10**16), max_value=10**16))
def test_weighted_pipeline_text_rounds_ledger_units_to_the_cent_half_to_even(units):  # type: ignore[no-untyped-def]
    """The snapshot's pipeline amounts (from integer ledger units, cents × percent) read as the Decimal
    rounding of the exact amount would print them: 0.005 → 0.00, 0.015 → 0.02, 12.345 → 12.34."""
    exact = (Decimal(units) / 10_000).quantize(Decimal("0.01"))
    assert units_text(units) == str(exact)


@pytest.mark.parametrize(
    ("units", "text"), [(50, "0.00"), (150, "0.02"), (123450, "12.34"), (123451, "12.35"), (1_000_000, "100.00")]
)
def test_weighted_pipeline_text_examples(units, text):  # type: ignore[no-untyped-def]
    assert units_text(units) == text


@pytest.mark.django_db
def test_a_deal_moved_without_its_update_stamp_is_found_by_its_new_transition(org, open_deals):  # type: ignore[no-untyped-def]
    """A change written past the services (a bulk UPDATE leaves ``updated_at``) still reaches the open-deal
    figures when it comes with a transition: the run also reads the deals of the transitions new to it."""
    deal = Deal.objects.get(pk=open_deals[2].pk)  # nina's contact deal
    Deal.objects.filter(pk=deal.pk).update(stage=Stage.NEEDS, updated_at=deal.updated_at - timedelta(days=3))
    StageTransition.objects.create(
        deal=deal,
        kind="forward",
        from_stage=Stage.CONTACT,
        to_stage=Stage.NEEDS,
        from_status="open",
        to_status="open",
        occurred_at=timezone.now(),
        owner=org.nina,
        team=deal.team,
    )

    assert_incremental_equals_full(NEXT_DAY)

    needs = StageConfig.objects.get(stage=Stage.NEEDS).probability
    assert _scope("user", org.nina.pk).weighted_pipeline == {"": f"{Decimal('12.34') * needs / 100:.2f}"}


def _ledger() -> tuple[list[tuple], list[tuple]]:  # type: ignore[type-arg]
    deals = NightlyOpenDeal.objects.order_by("deal_id").values_list(
        "deal_id", "owner_id", "team_id", "month", "units", "is_stale"
    )
    totals = NightlyOpenTotal.objects.order_by("owner_id", "team_id", "month").values_list(
        "owner_id", "team_id", "month", "units", "deals", "stale"
    )
    return list(deals), list(totals)


def _assert_ledger_equals_a_rebuild() -> None:
    """The ledger an incremental run left (not the one a full recompute would rebuild afterwards) holds the
    rows a rebuild from the deals gives, row for row: a wrong row would skew a later night's delta."""
    kept = _ledger()
    nightly_ledger.rebuild()
    assert kept == _ledger()


@pytest.mark.django_db
def test_the_ledger_an_incremental_run_keeps_equals_a_rebuild_through_losing_and_reopening(org, open_deals):  # type: ignore[no-untyped-def]
    # night 1: one deal lost (its row leaves), one handed over, one new deal (a row arrives)
    lost = deal_lose(deal=Deal.objects.get(pk=open_deals[0].pk), reason=LostReason.objects.first(), actor=org.alice)
    deal_update(deal=Deal.objects.get(pk=open_deals[2].pk), actor=org.manager, owner=org.alice)
    new = make_deal(owner=org.nina, stage=Stage.PROPOSAL, amount=Decimal("99.99"))

    nightly_run(run_date=NEXT_DAY)

    assert not NightlyOpenDeal.objects.filter(deal_id=lost.pk).exists()
    assert NightlyOpenDeal.objects.filter(deal_id=new.pk, owner_id=org.nina.pk).exists()
    _assert_ledger_equals_a_rebuild()

    # night 2: the lost deal reopened (its row comes back once), the new deal edited
    deal_reopen(deal=Deal.objects.get(pk=lost.pk), actor=org.alice)
    deal_update(deal=Deal.objects.get(pk=new.pk), actor=org.nina, amount=Decimal("10.00"))

    stats = nightly_run(run_date=NEXT_DAY + timedelta(days=1))

    assert stats["ledger"]["mode"] == "incremental"
    assert NightlyOpenDeal.objects.filter(deal_id=lost.pk).count() == 1
    _assert_ledger_equals_a_rebuild()
    assert _scope("user", org.alice.pk, as_of=NEXT_DAY + timedelta(days=1)).open_count == 3
