"""The SQL services agree exactly with a naive Python recomputation (tests/targets/oracle.py) over random
histories: skips, backward moves, lost and reopened deals, owner changes mid-history and times on both
sides of period boundaries in the organisation's time zone (minutes around local midnight)."""

from __future__ import annotations

import os
from datetime import datetime, time, timedelta

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline.models import Account, Deal, DealStatus, LostReason, StageTransition
from targets.models import ScopeSnapshot
from targets.periods import Period, org_tz
from targets.selectors import Scope, funnel, funnel_snapshot, outcomes
from targets.selectors.funnel import end_of_day
from targets.services import snapshots_compute
from tests.targets import oracle
from tests.targets.oracle import STAGES, Rec

EXAMPLES = int(os.environ.get("SALESLADDER_ORACLE_EXAMPLES", "30"))

# Two months back: fully in the past whatever day the suite runs.
PERIOD = Period.current().previous().previous()
BASE = datetime.combine(PERIOD.start - timedelta(days=3), time.min, org_tz())

op = st.one_of(
    st.tuples(st.just("forward"), st.integers(1, 3)),
    st.tuples(st.just("backward"), st.integers(1, 2)),
    st.tuples(st.just("lose"), st.just(0)),
    st.tuples(st.just("reopen"), st.just(0)),
    st.tuples(st.just("owner"), st.integers(0, 3)),
)
# A step: (operation, hours later, minute of that hour) — minute 30 of hour 23 lands at 23:30 local.
step = st.tuples(op, st.integers(0, 240), st.sampled_from([0, 30, 59]))
deal_st = st.tuples(
    st.integers(0, 3),  # owner
    st.integers(0, 3),  # created at rung
    st.integers(0, 40 * 24),  # created this many hours after BASE
    st.lists(step, max_size=7),
)


def simulate(deals_spec, reps, reasons):  # type: ignore[no-untyped-def]
    """Play the random histories through the ladder's rules; returns (deal rows, transition records)."""
    records: list[dict] = []
    finals = []
    for i, (owner_i, rung, hours, steps) in enumerate(deals_spec):
        owner, team = reps[owner_i]
        at = BASE + timedelta(hours=hours)
        pos, status = rung, DealStatus.OPEN
        for k in range(rung + 1):
            records.append(
                dict(
                    deal=i,
                    kind="create" if k == 0 else "forward",
                    fs="" if k == 0 else STAGES[k - 1],
                    ts=STAGES[k],
                    at=at,
                    owner=owner,
                    team=team,
                )
            )
        if pos == 5:
            status = DealStatus.WON
        for (name, arg), gap_h, minute in steps:
            at = (at + timedelta(hours=gap_h)).replace(minute=minute)
            if name == "owner":
                owner, team = reps[arg]
            elif name == "forward" and status == DealStatus.OPEN:
                target = min(5, pos + arg)
                for k in range(pos + 1, target + 1):
                    records.append(
                        dict(deal=i, kind="forward", fs=STAGES[k - 1], ts=STAGES[k], at=at, owner=owner, team=team)
                    )
                pos = target
                if pos == 5:
                    status = DealStatus.WON
            elif name == "backward" and status == DealStatus.OPEN and pos > 0:
                target = max(0, pos - arg)
                records.append(
                    dict(deal=i, kind="backward", fs=STAGES[pos], ts=STAGES[target], at=at, owner=owner, team=team)
                )
                pos = target
            elif name == "lose" and status == DealStatus.OPEN:
                records.append(dict(deal=i, kind="lose", fs=STAGES[pos], ts=STAGES[pos], at=at, owner=owner, team=team))
                status = DealStatus.LOST
            elif name == "reopen" and status == DealStatus.LOST:
                records.append(
                    dict(deal=i, kind="reopen", fs=STAGES[pos], ts=STAGES[pos], at=at, owner=owner, team=team)
                )
                status = DealStatus.OPEN
        finals.append((owner, team, STAGES[pos], status, reasons[i % len(reasons)] if status == "lost" else None))
    return finals, records


def _store(finals, records, account):  # type: ignore[no-untyped-def]
    deals = Deal.objects.bulk_create(
        [
            Deal(title=f"d{i}", account=account, owner=o, team=t, stage=s, status=st_, lost_reason=r)
            for i, (o, t, s, st_, r) in enumerate(finals)
        ]
    )
    rows = [
        StageTransition(
            deal=deals[r["deal"]],
            kind=r["kind"],
            from_stage=r["fs"],
            to_stage=r["ts"],
            from_status="",
            to_status="open",
            occurred_at=r["at"],
            channel="import",
            owner=r["owner"],
            team=r["team"],
        )
        for r in records
    ]
    StageTransition.objects.bulk_create(rows)
    return [
        Rec(
            seq=t.pk,
            deal=t.deal_id,
            kind=t.kind,
            from_stage=t.from_stage,
            to_stage=t.to_stage,
            at=t.occurred_at,
            owner=t.owner_id,
            team=t.team_id,
        )
        for t in rows
    ]


def _scopes(org):  # type: ignore[no-untyped-def]
    east = {org.east.pk, org.east_north.pk}
    return [
        *[(Scope.for_user(u), lambda r, u=u: r.owner == u.pk) for u in (org.alice, org.bob, org.nina, org.dave)],
        (Scope.for_team(org.east), lambda r: r.team in east),
        (Scope.for_team(org.east_north), lambda r: r.team == org.east_north.pk),
        (Scope.for_team(org.west), lambda r: r.team == org.west.pk),
        (Scope.org(), lambda r: True),
    ]


@pytest.mark.django_db
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(deals_spec=st.lists(deal_st, min_size=1, max_size=10), as_of_day=st.integers(0, PERIOD.days - 1))
def test_sql_services_agree_with_the_naive_oracle(org, deals_spec, as_of_day):  # type: ignore[no-untyped-def]
    reps = [(u, u.memberships.get().team) for u in (org.alice, org.bob, org.nina, org.dave)]
    reasons = list(LostReason.objects.all()[:3])
    start, end = PERIOD.bounds()
    as_of = PERIOD.start + timedelta(days=as_of_day)
    with transaction.atomic():
        account = Account.objects.create(name="Oracle", normalized_name="oracle", owner=org.alice)
        finals, records = simulate(deals_spec, reps, reasons)
        recs = _store(finals, records, account)
        snapshots_compute(as_of=as_of, periods=[PERIOD], incremental=False)

        for scope, in_scope in _scopes(org):
            # live: the whole (past) period, cohort reached by today
            live = funnel(scope=scope, period=PERIOD)
            far = end_of_day(live.as_of)
            assert [s.entered for s in live.stages] == list(oracle.entered(recs, in_scope, start, end).values())
            assert [s.cohort_reached for s in live.stages] == list(
                oracle.cohort(recs, in_scope, start, end, far).values()
            )
            expected_median = oracle.median_days(recs, in_scope, start, end)
            got_median = {s.stage: s.median_days_in_stage for s in live.stages if s.median_days_in_stage is not None}
            assert got_median == pytest.approx(expected_median, abs=2e-3)
            won, lost = oracle.outcomes(recs, in_scope, start, end)
            result = outcomes(scope=scope, period=PERIOD)
            assert (result.won_count, result.lost_count) == (won, lost)
            assert sum(result.lost_reasons.values()) == lost  # the reasons of exactly the lost deals

            # snapshot as of a day inside the period: cut at the end of that day (org time zone)
            cut = end_of_day(as_of)
            snap = funnel_snapshot(scope=scope, period=PERIOD, as_of=as_of)
            assert [s.entered for s in snap.stages] == list(oracle.entered(recs, in_scope, start, cut).values())
            assert [s.cohort_reached for s in snap.stages] == list(
                oracle.cohort(recs, in_scope, start, cut, cut).values()
            )
            snap_median = {s.stage: s.median_days_in_stage for s in snap.stages if s.median_days_in_stage is not None}
            assert snap_median == pytest.approx(oracle.median_days(recs, in_scope, start, cut), abs=2e-3)
            scope_snap = ScopeSnapshot.objects.get(
                scope_type=scope.type, scope_id=scope.id, period=PERIOD.key, as_of=as_of
            )
            assert (scope_snap.won_count, scope_snap.lost_count) == oracle.outcomes(recs, in_scope, start, cut)
            assert sum(scope_snap.lost_reasons.values()) == scope_snap.lost_count
        transaction.set_rollback(True)
