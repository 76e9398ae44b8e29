"""Nightly writes of the targets app: funnel/attainment snapshots, stale flags and the nightly run.

Snapshots are computed set-based: per period one query per figure for every rep, team and the org
(``targets.selectors.nightly_sql``, the counting rules of ``targets.selectors.sql``), then one bulk
upsert on the snapshot keys, so a re-run rewrites the same rows with the same values (idempotent).

Incremental runs (the default) build on the previous finished run: entered and cohort counts only grow
(StageTransition is append-only), so the new row = the previous run's row + the deals that newly
qualify, read from the histories of deals with a transition the previous run did not see (id above
its watermark, or occurring after its as-of day). A row's stay histogram and median are recomputed
from the stays stored on the moves when one of its exits is new or had its stay rewritten (else kept);
quotas, outcomes and open-deal figures are recomputed. ``incremental=False`` (``run_nightly --full``)
recomputes everything from scratch. See docs/counting.md ("Live and snapshots").
"""

from __future__ import annotations

import gc
import logging
import time as _time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from django.db import OperationalError, connection, transaction
from django.db.models import Max
from django.utils import timezone

from pipeline.models import Deal, StageConfig
from salesladder.org.models import Membership, Role, Team
from targets import nightly_funnel, nightly_ledger, nightly_outcomes, nightly_scope, watermark
from targets.models import NightlyLedgerState, NightlyRun, Quota, ScopeType
from targets.periods import Period, PeriodKind, org_today
from targets.selectors import nightly_delta, nightly_sql
from targets.selectors import signature as signatures
from targets.selectors.funnel import end_of_day, window
from targets.selectors.quotas import org_quotas, team_quotas, user_quotas
from targets.selectors.scope import ORG_SCOPE_ID
from targets.stale import stale_flags_update

log = logging.getLogger(__name__)

Progress = Callable[[str], None]
NightlyHook = Callable[..., Any]

# Callables run after each nightly run as ``hook(run_date=date, closed_periods=[Period, ...])``.
# Higher apps (reviews: draft reviews at period end) register here; targets never imports them.
NIGHTLY_HOOKS: list[NightlyHook] = []

# how many times a run starts over when a deal it flags changed under its snapshot (PostgreSQL)
SERIALIZATION_RETRIES = 3

# PostgreSQL work_mem for the nightly transaction (the medians sort every exit of a period three ways).
NIGHTLY_WORK_MEM = "64MB"


def register_nightly_hook(fn: NightlyHook) -> NightlyHook:
    """Register ``fn`` once (usable as a decorator; registering twice is harmless)."""
    if fn not in NIGHTLY_HOOKS:
        NIGHTLY_HOOKS.append(fn)
    return fn


# --- periods ---------------------------------------------------------------------------------


def period_kinds_in_use() -> list[str]:
    """Month always; weeks and quarters when some quota is set for one."""
    kinds = {PeriodKind.MONTH.value}
    for key in Quota.objects.values_list("period", flat=True).distinct():
        kinds.add(Period.parse(key).kind)
    return sorted(kinds)


def snapshot_periods(as_of: date) -> list[Period]:
    """The current and the previous period of each kind in use, on ``as_of``."""
    periods = []
    for kind in period_kinds_in_use():
        current = Period.containing(as_of, kind)
        periods += [current.previous(), current]
    return periods


def closed_periods(as_of: date) -> list[Period]:
    """Per kind in use, the latest period that has ended by the end of ``as_of``."""
    return [Period.containing(as_of + timedelta(days=1), kind).previous() for kind in period_kinds_in_use()]


# --- scopes ----------------------------------------------------------------------------------


def team_closure() -> list[tuple[int, int]]:
    """``[(team, ancestor-or-self)]`` for every team. One query; teams are few."""
    return signatures.closure_of(dict(Team.objects.values_list("pk", "parent_id")))


@dataclass
class Universe:
    closure: list[tuple[int, int]]
    rep_ids: list[int]
    team_ids: list[int] = field(init=False)

    ancestors: dict[int, list[int]] = field(init=False)

    def __post_init__(self) -> None:
        self.team_ids = sorted({a for _t, a in self.closure})
        self.ancestors = {}
        for team, ancestor in self.closure:
            self.ancestors.setdefault(team, []).append(ancestor)

    def signature(self) -> str:
        """The team tree counted with: incremental runs need the same one as the run they build on."""
        return signatures.tree_signature(self.closure)

    def keys(self, extra_users: Iterable[int] = ()) -> list[tuple[str, int]]:
        users = sorted(set(self.rep_ids) | set(extra_users))
        return (
            [(ScopeType.USER.value, u) for u in users]
            + [(ScopeType.TEAM.value, t) for t in self.team_ids]
            + [(ScopeType.ORG.value, ORG_SCOPE_ID)]
        )


def run_signature(u: Universe) -> str:
    """What an incremental run must share with the run it builds on: the team tree, the stages'
    probabilities (the pipeline value of every open deal) and the deleted-deals counter (a deleted deal
    takes its history with it, which no delta sees). Any change makes the next run full."""
    probabilities = list(StageConfig.objects.values_list("stage", "probability"))
    return signatures.signature(u.closure, probabilities, nightly_ledger.deletions())


def universe() -> Universe:
    reps = sorted(set(Membership.objects.filter(role=Role.REP).values_list("user_id", flat=True)))
    return Universe(team_closure(), reps)


# --- funnel snapshots ------------------------------------------------------------------------

Key = tuple[str, int, str]  # scope type, scope id, stage


def _keyed(scope_type: str, values: dict[tuple[int, str], Any]) -> dict[Key, Any]:
    return {(scope_type, sid, stage): v for (sid, stage), v in values.items()}


def _quotas(period: Period, u: Universe) -> dict[Key, int]:
    return {
        **_keyed(ScopeType.USER, user_quotas(period=period)),
        **_keyed(ScopeType.TEAM, team_quotas(period=period, closure=u.closure)),
        **_keyed(ScopeType.ORG, org_quotas(period=period)),
    }


@dataclass
class PreviousRun:
    as_of: date
    max_id: int
    universe: str = ""


def _funnel_period(
    *,
    period: Period,
    as_of: date,
    u: Universe,
    prev: PreviousRun | None,
    filled: nightly_sql.Filled,
    hist: nightly_delta.NightHistories | None,
) -> tuple[int, str]:
    """Upsert the FunnelSnapshot rows of one period as of the end of ``as_of``; returns (rows, mode).
    See ``targets.nightly_funnel``."""
    return nightly_funnel.funnel_period(
        period=period,
        as_of=as_of,
        closure=u.closure,
        ancestors=u.ancestors,
        keys=u.keys,
        quotas=_quotas(period, u),
        prev=(prev.as_of, prev.max_id) if prev else None,
        filled=filled,
        hist=hist,
    )


def _previous_run(as_of: date) -> PreviousRun | None:
    run = (
        NightlyRun.objects.filter(run_date__lte=as_of, finished_at__isnull=False)
        .filter(stats__has_key="max_transition_id")
        .order_by("-run_date")
        .first()
    )
    seen = watermark.from_stats(run.stats) if run else None
    if run is None or seen is None:  # no run, or one whose unseen ids are unknown: build from scratch
        return None
    return PreviousRun(run.run_date, seen, str(run.stats.get("universe", "")))


def _last_fill_watermark() -> int | None:
    """The transition watermark of the last finished run: the moves up to it had their stays filled or
    checked then (None before any run: only unfilled moves are filled)."""
    run = (
        NightlyRun.objects.filter(finished_at__isnull=False, stats__has_key="max_transition_id")
        .order_by("-finished_at")
        .first()
    )
    if run is None:
        return None
    return watermark.from_stats(run.stats) or int(run.stats["max_transition_id"])


def snapshots_compute(
    *,
    as_of: date,
    periods: list[Period] | None = None,
    incremental: bool = True,
    progress: Progress | None = None,
    previous: PreviousRun | None = None,
    ledger_since: datetime | None = None,
) -> dict[str, Any]:
    """Upsert FunnelSnapshot and ScopeSnapshot rows for every rep, team (with sub-teams) and the
    organisation, for ``periods`` (default: current and previous of each kind in use) as of the end of
    ``as_of``. Incremental when a previous finished run's snapshot of the same period exists and the
    team tree is the one it counted with (a moved team changes which transitions a team counts)."""
    every_period = periods is None
    periods = periods if periods is not None else snapshot_periods(as_of)
    u = universe()
    prev = (previous or _previous_run(as_of)) if incremental else None
    signature = run_signature(u)
    if prev is not None and prev.universe != signature:
        prev = None
    stats: dict[str, Any] = {"periods": {}, "outcomes": {}, "funnel_rows": 0, "scope_rows": 0, "timings": {}}
    stats["universe"] = signature
    clock = _time.monotonic()
    before = nightly_ledger.last_mark()
    state, stats["ledger"], changed = nightly_scope.open_state(
        u.closure, as_of=as_of, full=prev is None, previous=before, since=ledger_since or nightly_ledger.since_mark()
    )
    if prev is None or nightly_outcomes.ledger_as_of() != prev.as_of:
        changed = None  # the closed-deal ledger holds the values of another day's run: outcomes from scratch
    stats["timings"]["open_deals"] = round(_time.monotonic() - clock, 3)
    clock = _time.monotonic()
    check_after = _last_fill_watermark()
    hist = None
    if prev is not None:
        # the stays check and every period's deltas read the night's histories, copied once (with the deals
        # changed since, whose outcome values the delta compares with the ledger's)
        hist = nightly_delta.NightHistories.build(
            max_id=prev.max_id, prev_cutoff=end_of_day(prev.as_of), deals=changed or [], moves_after=check_after
        )
        stats["timings"]["histories"] = round(_time.monotonic() - clock, 3)
        clock = _time.monotonic()
    filled = nightly_sql.stays_fill(
        seen_up_to=prev.max_id if prev else 0, check_after=check_after, hist=hist.table if hist else None
    )
    stats["stays_filled"] = filled.count
    if hist is not None and periods:  # the deltas read their periods' windows only
        hist.narrow(min(window(p, as_of)[0] for p in periods))
    stats["timings"]["stays"] = round(_time.monotonic() - clock, 3)
    for period in periods:
        clock = _time.monotonic()
        n, mode = _funnel_period(period=period, as_of=as_of, u=u, prev=prev, filled=filled, hist=hist)
        stats["funnel_rows"] += n
        stats["timings"][f"{period.key} funnel"] = round(_time.monotonic() - clock, 3)
        clock = _time.monotonic()
        n, stats["outcomes"][period.key] = nightly_scope.scope_period(
            period=period,
            as_of=as_of,
            closure=u.closure,
            keys=u.keys,
            state=state,
            prev_as_of=prev.as_of if prev else None,
            changed=changed,
            hist=hist,
        )
        stats["scope_rows"] += n
        stats["timings"][f"{period.key} scope"] = round(_time.monotonic() - clock, 3)
        stats["periods"][period.key] = mode
        if progress:
            progress(period.key)
    if hist is not None:  # (an error rolls the table back with the transaction; the next build drops one left)
        hist.drop()
    if prev is None and every_period:  # a full run: the closed-deal ledger keeps the snapshotted periods only
        nightly_outcomes.prune([p.key for p in periods])
    nightly_outcomes.set_ledger_as_of(as_of)
    return stats


# --- the nightly run -------------------------------------------------------------------------


def _nothing_new(run: NightlyRun, max_id: int, *, refresh: bool) -> bool:
    """The day's run finished and nothing it reads has changed since (a second beat, a retry). A nightly
    run never skips the day's last refresh: that one left the stale flags and the hooks to it."""
    if run.finished_at is None or run.stats.get("max_transition_id") != max_id:
        return False
    if run.stats.get("refresh") and not refresh:
        return False
    seen = watermark.from_stats(run.stats)
    if seen is None or watermark.still_unseen(seen):  # a transaction it could not see has committed since
        return False
    latest = [
        Deal.objects.aggregate(m=Max("updated_at"))["m"],
        Quota.objects.aggregate(m=Max("updated_at"))["m"],
    ]
    # (the run's snapshot was taken at its watermark time: a later edit is not in it)
    return all(t is None or t < run.watermark for t in latest)


def snapshots_refresh(*, progress: Progress | None = None) -> dict[str, Any]:
    """Today's snapshots so far, for the live reads of the day to build on (the beat runs it every
    ``SALESLADDER_SNAPSHOT_REFRESH_MINUTES``): a live read is the latest snapshot + what is new since, and
    what is new since last night grows all day (1 % of the deals moved: ~0.15 s for a 50-rep team's funnel
    and attainment, ~25 ms right after a run). The nightly run's snapshot work, incremental, without its
    stale flags and hooks, which belong to the day once it has ended (the nightly run of that day then
    recomputes instead of skipping: see ``_nothing_new``).

    Skipped until yesterday's nightly run has finished (between midnight and that run): the stays check and
    the closed-deal ledger are shared by all runs, and a refresh of today taking a turn between yesterday's
    last refresh and yesterday's nightly run would split them into two chains of runs — a stay one chain
    rewrote would never leave the other's histograms, and each would recount the outcomes from scratch."""
    today = org_today()
    yesterday = today - timedelta(days=1)
    run = NightlyRun.objects.filter(run_date=yesterday, finished_at__isnull=False)
    stats = run.values_list("stats", flat=True).first()
    if stats is None or stats.get("refresh"):
        return {"skipped": True, "refresh": True, "waiting_for": yesterday.isoformat()}
    return nightly_run(run_date=today, progress=progress, refresh=True)


def nightly_run(
    *, run_date: date | None = None, full: bool = False, progress: Progress | None = None, refresh: bool = False
) -> dict[str, Any]:
    """Stale flags, snapshots (as of the end of ``run_date``, default today so far) and the hooks
    (``refresh``: the snapshots only, see ``snapshots_refresh``).

    One transaction reading one snapshot of the data (PostgreSQL: REPEATABLE READ when the run is not
    inside a caller's transaction), taken when it records its transition watermark: what commits while
    it works is left to the next run, which counts it once. Should another transaction change a deal the
    run flags after that snapshot (or deadlock with it), PostgreSQL refuses the run's write and the run
    starts over (up to ``SERIALIZATION_RETRIES`` times). Inside a caller's transaction (tests, a shell)
    the run keeps that transaction's level: under READ COMMITTED a commit during the run may be counted
    by it and again by the next run.

    Safe to run twice and concurrently: runs take turns (a table lock taken before the snapshot, for every
    run date: the open-deal and closed-deal ledgers are shared by all days, and two runs adding their
    deltas from the same ledger rows would count them twice; SQLite has one writer anyway), so a second
    runner of the same day waits, then finds nothing new (same transition watermark) and skips; a re-run
    after new activity recomputes incrementally. Snapshot writes and the run record commit together. The
    hooks always run after that transaction, with the lock released (also when the run was skipped).
    """
    run_date = run_date or org_today()
    attempt = 1
    while True:
        try:
            stats = _run_in_transaction(run_date=run_date, full=full, progress=progress, refresh=refresh)
            break
        except OperationalError as exc:
            if attempt >= SERIALIZATION_RETRIES or not _serialization_failure(exc) or connection.in_atomic_block:
                raise
            log.warning("nightly run %s: a deal changed under the run (%s); starting over", run_date, exc)
            attempt += 1
    return stats if refresh else _run_hooks(run_date, stats)


def _run_in_transaction(*, run_date: date, full: bool, progress: Progress | None, refresh: bool) -> dict[str, Any]:
    started = _time.monotonic()
    # (with autocommit off a transaction is already open: it keeps its level, as a caller's atomic block does)
    outermost = connection.get_autocommit() and not connection.in_atomic_block
    # what must be read before the run's snapshot (each its own statement, outside the transaction): the
    # id sequence and the sessions that may still commit ids (targets.watermark), and from when the next run
    # must read the deals edited (an edit in flight now is not in the snapshot)
    reading = watermark.read_sequence() if outermost and connection.vendor == "postgresql" else None
    since = nightly_ledger.since_mark()
    with _no_cyclic_gc(), transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                if outermost:  # (a caller's transaction keeps its own level)
                    cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
                # the turn first: LOCK takes no snapshot, so the run's snapshot comes after the previous
                # run has committed (an advisory lock is taken by a SELECT, which would take it before)
                cursor.execute(f"LOCK TABLE {NightlyLedgerState._meta.db_table} IN EXCLUSIVE MODE")
                # a batch job: sort the period's rows in memory rather than on disk (this transaction only)
                cursor.execute(f"SET LOCAL work_mem = '{NIGHTLY_WORK_MEM}'")
        snapshot_at = timezone.now()  # the snapshot is taken by the next statement
        NightlyRun.objects.get_or_create(
            run_date=run_date, defaults={"watermark": snapshot_at, "started_at": snapshot_at}
        )
        run = NightlyRun.objects.select_for_update().get(run_date=run_date)
        _seen, mark = watermark.capture(reading)  # before anything is read (see targets.watermark)
        max_id = int(mark["max_transition_id"])
        if not full and _nothing_new(run, max_id, refresh=refresh):
            # nothing new: no snapshot work; the hooks still run, after the lock is released
            return {**run.stats, "skipped": True}
        return _compute_and_record(
            run=run,
            run_date=run_date,
            mark=mark,
            snapshot_at=snapshot_at,
            since=since,
            full=full,
            progress=progress,
            started=started,
            refresh=refresh,
        )


def _serialization_failure(exc: OperationalError) -> bool:
    """Refused by PostgreSQL for a concurrent change (could not serialize, or a deadlock it broke)."""
    return getattr(exc.__cause__, "sqlstate", None) in ("40001", "40P01")


@contextmanager
def _no_cyclic_gc() -> Iterator[None]:
    """Pause Python's cycle collector for the run: it makes ~0.5 M short-lived objects (rows, histograms),
    none in reference cycles, and each collection would walk the whole process heap (~130 of them, ~50 ms
    of a 1 s incremental run on the bench data). Reference counting still frees everything."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _compute_and_record(
    *,
    run: NightlyRun,
    run_date: date,
    mark: dict[str, Any],
    snapshot_at: datetime,
    since: datetime,
    full: bool,
    progress: Progress | None,
    started: float,
    refresh: bool,
) -> dict[str, Any]:
    """The run's work inside its locked transaction: stale flags (not on a refresh), snapshots, the run
    record (its watermark time: ``snapshot_at``, when its snapshot was taken)."""
    prev = None if full else _previous_run(run_date)
    clock = _time.monotonic()
    stale = None if refresh else stale_flags_update(as_of=run_date)
    stale_seconds = round(_time.monotonic() - clock, 3)
    if progress and not refresh:
        progress("stale flags")
    stats = snapshots_compute(
        as_of=run_date, incremental=not full, progress=progress, previous=prev, ledger_since=since
    )
    stats["timings"]["stale_flags"] = stale_seconds
    stats.update(
        {
            "run_date": run_date.isoformat(),
            **mark,
            "stale_changed": stale,
            "full": full or prev is None,
            "refresh": refresh,
            "seconds": round(_time.monotonic() - started, 3),
        }
    )
    if "stage_win_rates" in run.stats:  # the day's observed-win-rate report (01:30) outlives a re-run
        stats["stage_win_rates"] = run.stats["stage_win_rates"]
    run.watermark = snapshot_at
    run.started_at = run.started_at or snapshot_at
    run.finished_at = timezone.now()
    run.stats = stats
    run.save()
    return stats


def _run_hooks(run_date: date, stats: dict[str, Any]) -> dict[str, Any]:
    """Hooks run after the snapshots commit, also when the snapshots were already current, so a hook
    that failed once (its own error, retried by the task) runs again; hooks must be idempotent."""
    closed = closed_periods(run_date)
    stats["closed_periods"] = [p.key for p in closed]
    stats["hooks"] = {}
    for hook in list(NIGHTLY_HOOKS):
        result = hook(run_date=run_date, closed_periods=closed)
        stats["hooks"][getattr(hook, "__qualname__", repr(hook))] = result
    return stats
