"""Nightly snapshots: idempotent, incremental = full, read back through ``as_of``, hooks, stale flags."""

from __future__ import annotations

import os
from datetime import datetime, time, timedelta

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline.models import Account, Deal, LostReason, Stage, StageTransition
from salesladder.org.models import Team
from targets import services
from targets.models import FunnelSnapshot, NightlyRun, ScopeSnapshot
from targets.nightly_funnel import buckets_of
from targets.periods import Period, org_tz
from targets.selectors import Scope, SnapshotMissing, attainment, funnel
from targets.services import nightly_run, register_nightly_hook, snapshots_compute
from targets.stale import stale_flags_update
from tests.factories import AccountFactory, ActivityFactory, ContactFactory, make_deal, rep
from tests.targets.builders import DEFAULT_LADDER, ladder, set_quotas
from tests.targets.test_oracle import deal_st, simulate

PERIOD = Period.current().previous()
TZ = org_tz()
FIELDS = ("scope_type", "scope_id", "period", "as_of", "stage", "entered", "quota", "cohort_reached")


def at(day: int, hour: int = 10) -> datetime:
    return datetime.combine(PERIOD.start + timedelta(days=day), time(hour), TZ)


def funnel_rows(as_of=None):  # type: ignore[no-untyped-def]
    qs = FunnelSnapshot.objects.all() if as_of is None else FunnelSnapshot.objects.filter(as_of=as_of)
    rows = qs.order_by("scope_type", "scope_id", "period", "as_of", "stage")
    # the stay histogram too: kept, merged or copied in the database, it must equal a recompute's
    return [(*(getattr(r, f) for f in FIELDS), r.median_days_in_stage, buckets_of(r.stay_buckets)) for r in rows]


def scope_rows(as_of=None):  # type: ignore[no-untyped-def]
    qs = ScopeSnapshot.objects.all() if as_of is None else ScopeSnapshot.objects.filter(as_of=as_of)
    return list(
        qs.order_by("scope_type", "scope_id", "period").values_list(
            "scope_type",
            "scope_id",
            "period",
            "won_count",
            "won_amount",
            "lost_count",
            "open_count",
            "stale_count",
            "weighted_pipeline",
            "lost_reasons",
        )
    )


@pytest.fixture
def history(org):  # type: ignore[no-untyped-def]
    ladder(owner=org.alice, team=org.east, counts=DEFAULT_LADDER, at=at(3))
    ladder(owner=org.nina, team=org.east_north, counts=[10, 4, 2, 1, 0, 0], at=at(4))
    set_quotas(user=org.alice, period=PERIOD)
    deal = make_deal(owner=org.dave, stage=Stage.CONTACT, at=at(5))
    from pipeline.services import deal_lose

    deal_lose(deal=deal, reason=LostReason.objects.first(), actor=org.dave, at=at(6))
    return org


@pytest.mark.django_db
def test_running_twice_leaves_identical_rows(history):  # type: ignore[no-untyped-def]
    day = PERIOD.start + timedelta(days=9)
    nightly_run(run_date=day)
    first, first_scope = funnel_rows(), scope_rows()
    computed_at = FunnelSnapshot.objects.order_by("pk").values_list("computed_at", flat=True).first()

    stats = nightly_run(run_date=day)  # e.g. beat fired twice: nothing new, nothing redone
    assert stats["skipped"] is True
    nightly_run(run_date=day, full=True)  # forced recompute: same keys, same values

    assert funnel_rows() == first
    assert scope_rows() == first_scope
    assert FunnelSnapshot.objects.order_by("pk").values_list("computed_at", flat=True).first() >= computed_at
    # every rep, team (with sub-teams) and the org, 6 rungs, 2 periods
    scopes = 4 + 3 + 1
    assert len(first) == scopes * 6 * 2
    alice = {r[4]: r[5] for r in first if r[0] == "user" and r[1] == history.alice.pk and r[2] == PERIOD.key}
    assert [alice[s] for s in Stage.values] == [100, 50, 20, 10, 5, 3]
    east = ScopeSnapshot.objects.get(scope_type="team", scope_id=history.east.pk, period=PERIOD.key, as_of=day)
    assert east.won_count == 3
    west = ScopeSnapshot.objects.get(scope_type="team", scope_id=history.west.pk, period=PERIOD.key, as_of=day)
    assert (west.lost_count, west.lost_reasons) == (1, {LostReason.objects.first().code: 1})


@pytest.mark.django_db
def test_past_as_of_reads_the_snapshot_and_missing_days_say_so(history):  # type: ignore[no-untyped-def]
    day = PERIOD.start + timedelta(days=3)  # alice's ladder happened on that day; nina's the day after
    nightly_run(run_date=day)
    alice, east = Scope.for_user(history.alice), Scope.for_team(history.east)

    snap = funnel(scope=east, period=PERIOD, as_of=day)
    live = funnel(scope=east, period=PERIOD)
    assert snap.source == "snapshot"
    assert [s.entered for s in snap.stages] == DEFAULT_LADDER
    assert [s.entered for s in live.stages] == [110, 54, 22, 11, 5, 3]
    assert [s.conversion_to_next for s in snap.stages][:5] == [0.5, 0.4, 0.5, 0.5, 0.6]
    att = attainment(scope=east, period=PERIOD, as_of=day)
    assert att.row(history.alice.pk, Stage.SIGNING).attainment == 1.0
    assert att.row(None, Stage.PREP).entered == 100
    assert funnel(scope=alice, period=PERIOD, as_of=day).stages[0].quota == 100

    with pytest.raises(SnapshotMissing) as err:
        funnel(scope=alice, period=PERIOD, as_of=day - timedelta(days=1))
    assert "as_of" in err.value.errors
    assert err.value.status_code == 404


@given(deals_spec=st.lists(deal_st, min_size=1, max_size=8), split=st.floats(0, 1), gap=st.integers(0, 5))
@settings(
    max_examples=int(os.environ.get("SALESLADDER_ORACLE_EXAMPLES", "15")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@pytest.mark.django_db
def test_incremental_run_equals_full_run(org, deals_spec, split, gap):  # type: ignore[no-untyped-def]
    reps = [(u, u.memberships.get().team) for u in (org.alice, org.bob, org.nina, org.dave)]
    reasons = list(LostReason.objects.all()[:2])
    day1 = Period.current().previous().previous().start + timedelta(days=20)
    day2 = day1 + timedelta(days=gap)
    with transaction.atomic():
        account = Account.objects.create(name="X", normalized_name="x", owner=org.alice)
        finals, records = simulate(deals_spec, reps, reasons)
        k = int(len(records) * split)
        deals = list(
            Deal.objects.bulk_create(
                [Deal(title="d", account=account, owner=o, team=t, stage=s, status=x) for o, t, s, x, _r in finals]
            )
        )

        def insert(part):  # type: ignore[no-untyped-def]
            StageTransition.objects.bulk_create(
                [
                    StageTransition(
                        deal=deals[r["deal"]],
                        kind=r["kind"],
                        from_stage=r["fs"],
                        to_stage=r["ts"],
                        to_status="open",
                        occurred_at=r["at"],
                        channel="import",
                        owner=r["owner"],
                        team=r["team"],
                    )
                    for r in part
                ]
            )

        insert(records[:k])
        nightly_run(run_date=day1)
        insert(records[k:])
        stats = nightly_run(run_date=day2)
        incremental, incremental_scope = funnel_rows(day2), scope_rows(day2)
        # (a second run of the same day with nothing new is skipped and reports the first run)
        assert stats.get("skipped") or set(stats["periods"].values()) <= {"incremental", "unchanged"}
        snapshots_compute(as_of=day2, incremental=False)
        assert funnel_rows(day2) == incremental
        assert scope_rows(day2) == incremental_scope

        # live figures seeded by the day-2 run (+ everything after it) equal a computation from scratch
        period = Period.containing(day2)
        scopes = [Scope.for_team(org.east), Scope.for_user(org.nina), Scope.org()]
        seeded = [(funnel(scope=s, period=period), attainment(scope=s, period=period)) for s in scopes]
        assert all(f.medians_as_of == day2 for f, _a in seeded)
        NightlyRun.objects.all().delete()
        for (f, a), s in zip(seeded, scopes, strict=True):
            scratch_f, scratch_a = funnel(scope=s, period=period), attainment(scope=s, period=period)
            assert [x.entered for x in f.stages] == [x.entered for x in scratch_f.stages]
            assert [x.cohort_reached for x in f.stages] == [x.cohort_reached for x in scratch_f.stages]
            assert [(r.user, r.stage, r.entered) for r in a.rows + a.totals] == [
                (r.user, r.stage, r.entered) for r in scratch_a.rows + scratch_a.totals
            ]
        transaction.set_rollback(True)


@pytest.mark.django_db
def test_incremental_run_uses_the_watermark(history):  # type: ignore[no-untyped-def]
    day = PERIOD.start + timedelta(days=9)
    nightly_run(run_date=day)
    make_deal(owner=history.bob, stage=Stage.NEEDS, at=at(9, 8))
    stats = nightly_run(run_date=day + timedelta(days=1))
    assert stats["periods"][PERIOD.key] == "incremental"
    bob = funnel(scope=Scope.for_user(history.bob), period=PERIOD, as_of=day + timedelta(days=1))
    assert [s.entered for s in bob.stages] == [1, 1, 1, 0, 0, 0]
    assert NightlyRun.objects.count() == 2


@pytest.mark.django_db
def test_hooks_get_the_closed_period(history, monkeypatch):  # type: ignore[no-untyped-def]
    calls = []
    monkeypatch.setattr(services, "NIGHTLY_HOOKS", [])
    register_nightly_hook(lambda **kw: calls.append(kw) or "ok")
    last_day = PERIOD.end - timedelta(days=1)

    stats = nightly_run(run_date=last_day)
    nightly_run(run_date=last_day)  # hooks run again (they are idempotent), snapshots skipped

    assert [c["run_date"] for c in calls] == [last_day, last_day]
    assert [p.key for p in calls[0]["closed_periods"]] == [PERIOD.key]
    assert stats["closed_periods"] == [PERIOD.key]


@pytest.mark.django_db
def test_stale_flags(org):  # type: ignore[no-untyped-def]
    now = timezone.now()
    quiet = make_deal(owner=org.alice, at=now - timedelta(days=20))  # prep: stale after 14 days
    busy = make_deal(owner=org.alice, at=now - timedelta(days=20))
    ActivityFactory(deal=busy, created_at=now)
    Deal.objects.filter(pk=busy.pk).update(last_activity_at=now, is_stale=True)
    recent = make_deal(owner=org.alice, stage=Stage.NEEDS, at=now - timedelta(days=20))  # needs: 21 days
    quiet_needs = make_deal(owner=org.alice, stage=Stage.NEEDS, at=now - timedelta(days=22))

    changed = stale_flags_update(as_of=timezone.localdate())

    flags = dict(Deal.objects.values_list("pk", "is_stale"))
    assert (flags[quiet.pk], flags[busy.pk], flags[recent.pk], flags[quiet_needs.pk]) == (True, False, False, True)
    assert changed == 3
    assert stale_flags_update(as_of=timezone.localdate()) == 0


def _team_of(n: int, name: str) -> Team:
    team = Team.objects.create(name=name)
    for i in range(n):
        user = rep(team, username=f"{name}-{i}")
        set_quotas(user=user, period=PERIOD)
        ladder(owner=user, team=team, counts=[3, 2, 1, 1, 0, 0], at=at(2))
    return team


@pytest.mark.django_db
def test_query_counts_do_not_grow_with_team_size(org, django_assert_max_num_queries):  # type: ignore[no-untyped-def]
    counts = []
    for n, name in ((10, "small"), (40, "large")):
        scope = Scope.for_team(_team_of(n, name))
        with CaptureQueriesContext(connection) as ctx, django_assert_max_num_queries(12):
            f = funnel(
                scope=scope, period=PERIOD
            )  # 6 queries (team tree, nightly base, entered, cohort, median, quota)
            a = attainment(
                scope=scope, period=PERIOD
            )  # 6 (reps, nightly base, per-rep entered, quotas, team entered, team quota)
        counts.append(len(ctx.captured_queries))
        assert f.stages[0].entered == 3 * n
        assert len(a.rows) == 6 * n
    assert counts[0] == counts[1]


@pytest.mark.django_db
def test_live_figures_start_from_last_nights_snapshot_and_add_what_happened_since(org):  # type: ignore[no-untyped-def]
    from pipeline.services import deal_lose, deal_move

    current, today = Period.current(), timezone.localdate()
    account = AccountFactory(owner=org.alice)
    first = make_deal(owner=org.alice, stage=Stage.CONTACT, account=account, contact=ContactFactory(account=account))
    second = make_deal(owner=org.nina, stage=Stage.NEEDS)
    nightly_run(run_date=today)  # "today so far": the base the live figures start from
    deal_move(deal=first, to_stage=Stage.NEEDS, actor=org.alice)  # a new entry after the run
    deal_move(deal=second, to_stage=Stage.CONTACT, actor=org.nina)  # backward: not an entry
    deal_move(deal=second, to_stage=Stage.NEEDS, actor=org.nina)  # again into needs: counted once
    deal_lose(deal=first, reason=LostReason.objects.first(), actor=org.alice)
    make_deal(owner=org.bob, stage=Stage.PROPOSAL)
    team = Scope.for_team(org.east)

    fast_funnel, fast_att = funnel(scope=team, period=current), attainment(scope=team, period=current)
    NightlyRun.objects.all().delete()  # no base: everything computed from the history
    full_funnel, full_att = funnel(scope=team, period=current), attainment(scope=team, period=current)

    assert fast_funnel.medians_as_of == today
    assert full_funnel.medians_as_of is None
    assert [s.entered for s in fast_funnel.stages] == [s.entered for s in full_funnel.stages] == [3, 3, 3, 1, 0, 0]
    assert [s.cohort_reached for s in fast_funnel.stages] == [s.cohort_reached for s in full_funnel.stages]
    assert [(r.user, r.stage, r.entered) for r in fast_att.rows] == [
        (r.user, r.stage, r.entered) for r in full_att.rows
    ]
    assert [r.entered for r in fast_att.totals] == [r.entered for r in full_att.totals]


@pytest.mark.django_db(transaction=True)
def test_hooks_run_after_the_run_commits_also_when_it_is_skipped(org, monkeypatch):  # type: ignore[no-untyped-def]
    """A slow hook never holds the day's lock: it runs outside the run's transaction, skipped or not."""
    seen = []
    monkeypatch.setattr(services, "NIGHTLY_HOOKS", [])
    register_nightly_hook(lambda **kw: seen.append(transaction.get_connection().in_atomic_block))
    make_deal(owner=org.alice, stage=Stage.CONTACT, at=at(3))
    day = PERIOD.end - timedelta(days=1)

    first = nightly_run(run_date=day)
    second = nightly_run(run_date=day)

    assert "skipped" not in first
    assert second["skipped"] is True
    assert seen == [False, False]
    assert NightlyRun.objects.get(run_date=day).finished_at is not None


def test_nightly_run_pauses_the_cycle_collector_only_while_it_runs(org, monkeypatch):  # type: ignore[no-untyped-def]
    """The run turns Python's cycle collector off for its own work and back on after it, also when it fails
    (a worker process must not keep running without it)."""
    import gc

    seen = []
    monkeypatch.setattr(services, "NIGHTLY_HOOKS", [])
    register_nightly_hook(lambda **_kw: seen.append(gc.isenabled()))
    assert gc.isenabled()
    nightly_run()
    assert gc.isenabled()

    def broken(**_kw):  # type: ignore[no-untyped-def]
        seen.append(gc.isenabled())
        raise RuntimeError("snapshots failed")

    monkeypatch.setattr(services, "snapshots_compute", broken)
    with pytest.raises(RuntimeError):
        nightly_run(run_date=timezone.localdate() + timedelta(days=1))
    assert gc.isenabled()
    assert seen == [True, False]  # hooks run after the transaction, collector on; the snapshots ran with it off
