"""Nightly job and live funnel benchmark (run after bench/gen_transitions.py, PostgreSQL).

    DATABASE_URL=postgres://... .venv/bin/python bench/nightly.py [--repeat 100]

Measures, in one run on the same data:
1. a bare single-pass SQL aggregate over the whole transitions table
   (COUNT(DISTINCT deal) GROUP BY owner, stage, month) — the yardstick;
2. the full nightly recompute (stale flags + funnel/attainment/scope snapshots for every rep, team
   and the org, current and previous period), as of today: it has counted every generated transition;
3. the next night's incremental run (as of tomorrow) after 1 % of the deals changed (a forward move
   each, now) — exactly those changes are new to it. ``--full-day yesterday`` puts the full run a day
   earlier (the flow of earlier sessions): the incremental run (as of today) then also absorbs what the
   generated data holds after that day (~2,000 transitions of ~1,700 deals, 0.17 % of them: new deals,
   moves, closings);
4. funnel + attainment for a 50-rep team (a region with 5 sub-teams), ``--repeat`` times: p50/p95,
   after the full run and after the incremental one. Today's reads build on the latest snapshot as of
   today at most plus what is new since: in the default flow nothing, then the touched 1 % (the
   incremental run is tomorrow's); with ``--full-day yesterday`` the generated last day, then nothing.
   Then once more after a refresh of today's snapshots (``snapshots_refresh``, what the beat runs every
   SALESLADDER_SNAPSHOT_REFRESH_MINUTES), which live reads of today then build on.
Prints the figures and the ratios against the targets (full ≤ 2× bare, incremental ≤ 10 % of full,
p95 ≤ 50 ms).
"""

from __future__ import annotations

import argparse
import statistics
import time
from datetime import timedelta

import _setup  # noqa: F401
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from pipeline.models import Deal, StageTransition
from salesladder.org.models import Team
from targets.models import FunnelSnapshot, NightlyRun, ScopeSnapshot
from targets.periods import Period, org_today
from targets.selectors import Scope, attainment, funnel
from targets.services import NIGHTLY_WORK_MEM, nightly_run
from targets.stale import stale_flags_update

T = StageTransition._meta.db_table
D = Deal._meta.db_table
STAGES = "ARRAY['prep','contact','needs','proposal','negotiation','signing']"


def timed(fn):  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    result = fn()
    return time.perf_counter() - started, result


def bare_aggregate() -> int:
    """Same session settings as the nightly transaction (work_mem), so the yardstick is fair."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"SET LOCAL work_mem = '{NIGHTLY_WORK_MEM}'")
        cursor.execute(
            f"""SELECT owner_id, to_stage, date_trunc('month', occurred_at AT TIME ZONE %s), COUNT(DISTINCT deal_id)
                FROM {T} WHERE kind IN ('create', 'forward') GROUP BY 1, 2, 3""",
            [settings.TIME_ZONE],
        )
        return len(cursor.fetchall())


def touch(fraction: float) -> int:
    """Move ``fraction`` of the open deals below signing one rung up, now (one transition each), as
    ``deal_move`` does: the stay the move ends recorded on it, new stage and stage clock, activity now,
    stale flag cleared. (The generated stage clocks skip the step-back-and-climb-again moves, so the
    stay's start is read from the history here.)"""
    now = timezone.now()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"""CREATE TEMP TABLE bench_touch ON COMMIT DROP AS
                SELECT d.id, d.owner_id, d.team_id, d.stage, array_position({STAGES}, d.stage::text) AS pos,
                       (SELECT MAX(m.occurred_at) FROM {T} m WHERE m.deal_id = d.id
                        AND m.kind IN ('create', 'forward', 'backward')) AS arrived
                FROM {D} d
                WHERE d.status = 'open' AND d.stage <> 'negotiation' AND random() < %s""",
            [fraction * 1.0 / 0.45],  # about 45 % of the deals are open below negotiation
        )
        # the stay each move ends, recorded with the move as deal_move does (Transition.set_stay)
        cursor.execute(
            f"""INSERT INTO {T} (deal_id, kind, from_stage, to_stage, from_status, to_status, occurred_at, channel,
                                 owner_id, team_id, stay_started_at, stay_bucket)
                SELECT id, 'forward', stage, ({STAGES})[pos + 1], 'open', 'open', %s, 'ui', owner_id, team_id,
                       arrived, FLOOR(LN(1 + EXTRACT(EPOCH FROM (%s - arrived))::float8 / 60) * 32)
                FROM bench_touch""",
            [now, now],
        )
        n = cursor.rowcount
        cursor.execute(
            f"""UPDATE {D} d SET stage = ({STAGES})[t.pos + 1], stage_entered_at = %s, updated_at = %s,
                       last_activity_at = %s, is_stale = false
                FROM bench_touch t WHERE d.id = t.id""",
            [now, now, now],
        )
    return n


def live_percentiles(repeat: int) -> tuple[float, float, int]:
    """Funnel + attainment of the current period for a 50-rep team (a region with 5 sub-teams), read live
    (the latest snapshot of the period + what is new since), ``repeat`` times: p50, p95 (ms), reps."""
    region = Team.objects.get(name="Bench region 0")
    scope = Scope.for_team(region)
    period = Period.current()
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        funnel(scope=scope, period=period)
        attainment(scope=scope, period=period)
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    p95 = samples[max(0, int(round(0.95 * len(samples))) - 1)]
    return statistics.median(samples), p95, len(attainment(scope=scope, period=period).rows) // 6


def report_live(repeat: int, state: str) -> float:
    """Print ``live_percentiles`` for the given state of the snapshots; returns the p95."""
    p50, p95, reps = live_percentiles(repeat)
    print(f"funnel + attainment, {reps}-rep team, {repeat}×, {state}: p50 {p50:.1f} ms, p95 {p95:.1f} ms")
    return p95


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=100)
    parser.add_argument("--touch", type=float, default=0.01, help="Share of deals changed before the incremental run")
    parser.add_argument(
        "--full-day",
        choices=["today", "yesterday"],
        default="today",
        help="As of which day the full run counts (the incremental run is the night after it)",
    )
    args = parser.parse_args()

    deals = Deal.objects.count()
    transitions = StageTransition.objects.count()
    print(f"data: {deals:,} deals, {transitions:,} transitions")

    bare_aggregate()  # warm the cache for both contenders
    bare_s, groups = timed(bare_aggregate)
    print(f"bare aggregate (COUNT DISTINCT deal by owner, stage, month): {bare_s:.2f} s ({groups:,} groups)")

    full_day = org_today() - timedelta(days=1 if args.full_day == "yesterday" else 0)
    next_day = full_day + timedelta(days=1)
    for model in (FunnelSnapshot, ScopeSnapshot, NightlyRun):
        model.objects.all().delete()
    # Fresh data has never been flagged: the first flagging (a one-off rewrite of every quiet deal) is
    # not what a night costs, so it runs before the clock starts.
    flag_s, flagged = timed(lambda: stale_flags_update(as_of=full_day))
    print(f"first stale flagging of fresh data (not timed below): {flagged:,} deals in {flag_s:.2f} s")
    # ... and it rewrote half of the deals table: vacuum it, as autovacuum would before the next night
    with connection.cursor() as cursor:
        cursor.execute(f"VACUUM ANALYZE {D}")
    full_s, full = timed(lambda: nightly_run(run_date=full_day, full=True))
    print(
        f"full nightly recompute ({full_day}): {full_s:.2f} s — {full['funnel_rows']:,} funnel rows, "
        f"{full['scope_rows']:,} scope rows, periods {', '.join(full['periods'])}"
    )
    print("  phases: " + ", ".join(f"{k} {v:.2f} s" for k, v in full["timings"].items()))
    # live reads of today build on the latest run as of today at most: the full run in the default flow
    # (first: nothing new since it; second: the touched 1 %), the incremental run with --full-day yesterday
    # (first: the generated data's last hours new since the full run; second: nothing new)
    states = ["nothing new since the snapshot", "1 % of the deals changed since, no refresh yet"]
    if args.full_day == "yesterday":
        states = ["the generated data's last hours since the snapshot", "nothing new since the snapshot"]
    states.append("after a refresh of today's snapshots")
    p95s = [report_live(args.repeat, f"after the full run ({states[0]})")]
    touched_s, touched = timed(lambda: touch(args.touch))
    print(f"touched {touched:,} deals ({touched / max(deals, 1):.2%}) with a forward move in {touched_s:.2f} s")
    inc_s, inc = timed(lambda: nightly_run(run_date=next_day))
    modes = ", ".join(f"{k} {v}" for k, v in inc["periods"].items())
    outcomes = ", ".join(f"{k} {v}" for k, v in inc.get("outcomes", {}).items())
    ledger = inc.get("ledger", {})
    print(f"incremental nightly run ({next_day}): {inc_s:.2f} s (funnel: {modes}; outcomes: {outcomes})")
    print(f"  open-deal ledger: {ledger.get('mode')}, {ledger.get('changed', '-')} changed deals read")
    print("  phases: " + ", ".join(f"{k} {v:.2f} s" for k, v in inc["timings"].items()))

    p95s.append(report_live(args.repeat, f"after the incremental run ({states[1]})"))
    # what the beat's refresh does every SALESLADDER_SNAPSHOT_REFRESH_MINUTES (snapshots_refresh, which
    # also waits for yesterday's nightly run — here the full run is today's): today's snapshots so far
    refresh_s, refresh = timed(lambda: nightly_run(run_date=org_today(), refresh=True))
    how = "skipped: nothing new" if refresh.get("skipped") else "incremental"
    if "full" in refresh.get("outcomes", {}).values():
        how += "; outcomes recounted: the closed-deal ledger was as of another day"
    print(f"refresh of today's snapshots: {refresh_s:.2f} s ({how})")
    p95s.append(report_live(args.repeat, states[2]))
    print("\nratios (target):")
    print(f"  full / bare aggregate     = {full_s / bare_s:.2f}  (≤ 2)  {'OK' if full_s <= 2 * bare_s else 'MISSED'}")
    print(f"  incremental / full        = {inc_s / full_s:.1%} (≤ 10 %) {'OK' if inc_s <= 0.1 * full_s else 'MISSED'}")
    for state, p95 in zip(states, p95s, strict=True):
        print(f"  funnel+attainment p95     = {p95:.1f} ms (≤ 50 ms) {'OK' if p95 <= 50 else 'MISSED'}  ({state})")


if __name__ == "__main__":
    main()
