"""The counting SQL (SPEC §3), shared by the live services and the nightly snapshots.

Every function runs ONE aggregate query for one scope type and returns ``{(scope_id, stage): value}``.
The scope type decides how a transition is attributed (always by the owner/team stored on the
transition, i.e. *at that moment*):

- rep:  ``owner_id``;
- team: ``team_id`` mapped to every ancestor team through a small closure (teams are few), so a
  team includes its sub-teams and a deal counts once per team even if it climbed in two sub-teams;
- org:  everything, key 0.

Counting rules (our reading of SPEC §3, also in docs/counting.md):

- an *entry* into stage s is a transition of kind ``create`` or ``forward`` whose ``to_stage`` is s;
  ``lose``/``reopen`` stay on the same stage and are status changes, not entries; a ``backward``
  move is not an entry either (the deal does not *climb into* the lower rung) — the forward move
  after it is an entry of the rung it climbs into again;
- entered(s) counts distinct deals, so a deal entering s twice in a period counts once;
- the period is ``[start, end)`` at midnight in the organisation's time zone.

Plain SQL with ``COUNT(DISTINCT ...)`` and window functions, valid on PostgreSQL and SQLite.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import connection

from pipeline.models import Deal, LostReason, StageConfig, StageTransition
from targets.models import ScopeType

T = StageTransition._meta.db_table
ENTRY_SQL = "('create', 'forward')"
MOVE_SQL = "('create', 'forward', 'backward')"


def db_dt(value: datetime) -> Any:
    """A datetime as the backend stores it (naive UTC text on SQLite), for raw SQL parameters."""
    return connection.ops.adapt_datetimefield_value(value)


@dataclass
class Grouping:
    """How one scope type keys a transition row aliased ``alias``: a key expression, an optional
    closure CTE, and an optional filter restricting the scopes computed."""

    scope_type: str
    key: str
    cte: str = ""
    cte_params: list[Any] = field(default_factory=list)
    join: str = ""
    where: str = ""
    where_params: list[Any] = field(default_factory=list)

    def for_alias(self, alias: str) -> Grouping:
        def sub(text: str) -> str:
            return text.replace("{a}", alias)

        return Grouping(
            self.scope_type,
            sub(self.key),
            self.cte,
            self.cte_params,
            sub(self.join),
            sub(self.where),
            self.where_params,
        )

    def with_clause(self, *more: str) -> str:
        parts = [p for p in (self.cte, *more) if p]
        return ("WITH " + ", ".join(parts)) if parts else ""


def _in_list(values: Sequence[int]) -> str:
    return "(" + ", ".join(["%s"] * len(values)) + ")"


def group_users(user_ids: Iterable[int] | None = None) -> Grouping:
    """Per rep; ``user_ids`` restricts the reps computed (None: every owner in the data)."""
    if user_ids is None:
        return Grouping(ScopeType.USER, "{a}.owner_id")
    ids = sorted(set(user_ids)) or [-1]
    return Grouping(ScopeType.USER, "{a}.owner_id", where=f"AND {{a}}.owner_id IN {_in_list(ids)}", where_params=ids)


def group_team(team_id: int, team_ids: Iterable[int]) -> Grouping:
    """One team with its sub-teams (``team_ids``): a plain ``IN`` filter the team index can serve."""
    ids = sorted(set(team_ids)) or [-1]
    return Grouping(ScopeType.TEAM, str(int(team_id)), where=f"AND {{a}}.team_id IN {_in_list(ids)}", where_params=ids)


def group_teams(closure: Sequence[tuple[int, int]]) -> Grouping:
    """Every team of ``closure`` = ``[(team_id, ancestor_or_self_id), ...]``; a row counts for each ancestor."""
    pairs = list(closure) or [(-1, -1)]
    values = ", ".join(["(%s, %s)"] * len(pairs))
    return Grouping(
        ScopeType.TEAM,
        "c.ancestor_id",
        cte=f"closure(team_id, ancestor_id) AS (VALUES {values})",
        cte_params=[v for pair in pairs for v in pair],
        join="JOIN closure c ON c.team_id = {a}.team_id",
    )


def group_org() -> Grouping:
    return Grouping(ScopeType.ORG, "0")


Counts = dict[tuple[int, str], int]


def _run(sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def entered_counts(g: Grouping, *, start: datetime, cutoff: datetime) -> Counts:
    """entered(s) per scope: distinct deals with an entry into s in ``[start, cutoff)``."""
    g = g.for_alias("t")
    sql = f"""
        {g.with_clause()}
        SELECT {g.key} AS scope_id, t.to_stage, COUNT(DISTINCT t.deal_id)
        FROM {T} t {g.join}
        WHERE t.kind IN {ENTRY_SQL} AND t.occurred_at >= %s AND t.occurred_at < %s {g.where}
        GROUP BY 1, 2"""
    rows = _run(sql, [*g.cte_params, db_dt(start), db_dt(cutoff), *g.where_params])
    return {(int(scope_id), stage): int(n) for scope_id, stage, n in rows}


def entered_counts_by_window(g: Grouping, *, windows: Sequence[tuple[datetime, datetime]]) -> dict[int, Counts]:
    """``entered_counts`` for several disjoint windows in one pass: ``{window index: counts}``."""
    if not windows:
        return {}
    g = g.for_alias("t")
    buckets = " ".join("WHEN t.occurred_at >= %s AND t.occurred_at < %s THEN " + str(i) for i in range(len(windows)))
    bucket_params = [db_dt(v) for start, cutoff in windows for v in (start, cutoff)]
    sql = f"""
        {g.with_clause()}
        SELECT b.bucket, b.scope_id, b.to_stage, COUNT(DISTINCT b.deal_id) FROM (
            SELECT CASE {buckets} END AS bucket, {g.key} AS scope_id, t.to_stage, t.deal_id
            FROM {T} t {g.join}
            WHERE t.kind IN {ENTRY_SQL} AND t.occurred_at >= %s AND t.occurred_at < %s {g.where}
        ) b
        WHERE b.bucket IS NOT NULL
        GROUP BY 1, 2, 3"""
    low, high = min(w[0] for w in windows), max(w[1] for w in windows)
    rows = _run(sql, [*g.cte_params, *bucket_params, db_dt(low), db_dt(high), *g.where_params])
    result: dict[int, Counts] = {i: {} for i in range(len(windows))}
    for bucket, scope_id, stage, n in rows:
        result[int(bucket)][(int(scope_id), stage)] = int(n)
    return result


def cohort_counts(g: Grouping, *, start: datetime, cutoff: datetime, reached_by: datetime) -> Counts:
    """Cohort view: of the deals entering ``prep`` in ``[start, cutoff)`` in the scope, how many have
    entered each stage (at any time, under any owner) before ``reached_by``. ``prep`` = cohort size."""
    g = g.for_alias("t")
    cohort = f"""cohort AS (
            SELECT DISTINCT {g.key} AS scope_id, t.deal_id
            FROM {T} t {g.join}
            WHERE t.kind IN {ENTRY_SQL} AND t.to_stage = 'prep' AND t.occurred_at >= %s AND t.occurred_at < %s
            {g.where})"""
    sql = f"""
        {g.with_clause(cohort)}
        SELECT c.scope_id, e.to_stage, COUNT(DISTINCT e.deal_id)
        FROM cohort c JOIN {T} e ON e.deal_id = c.deal_id
        WHERE e.kind IN {ENTRY_SQL} AND e.occurred_at >= %s AND e.occurred_at < %s
        GROUP BY 1, 2"""
    # e.occurred_at >= start: a deal's history starts with its creation (the only entry into prep), so
    # its later entries are no older than the period start; the bound lets the period index serve e.
    rows = _run(sql, [*g.cte_params, db_dt(start), db_dt(cutoff), *g.where_params, db_dt(start), db_dt(reached_by)])
    return {(int(scope_id), stage): int(n) for scope_id, stage, n in rows}


def _days(later: str, earlier: str) -> str:
    if connection.vendor == "postgresql":
        return f"EXTRACT(EPOCH FROM ({later} - {earlier})) / 86400.0"
    return f"(julianday({later}) - julianday({earlier}))"


def median_days(g: Grouping, *, start: datetime, cutoff: datetime) -> dict[tuple[int, str], float]:
    """Median days in stage s, over the exits from s in ``[start, cutoff)`` attributed to the scope.

    A stay in s starts with the transition that brought the deal to s (create, forward or backward)
    and ends with the next one that takes it elsewhere (forward or backward); lose/reopen keep the
    stage and neither start nor end a stay. The median of an even count is the mean of the middle two.
    """
    x = g.for_alias("x")
    # The arrival: the deal's latest stage change before the exit, ordered by (time, id). A correlated
    # subquery (one index probe on (deal_id, occurred_at) per exit) rather than a window over whole
    # histories; both PostgreSQL and SQLite run it.
    arrived = f"""(
            SELECT p.occurred_at FROM {T} p
            WHERE p.deal_id = x.deal_id AND p.kind IN {MOVE_SQL}
            AND p.occurred_at <= x.occurred_at AND (p.occurred_at < x.occurred_at OR p.id < x.id)
            ORDER BY p.occurred_at DESC, p.id DESC LIMIT 1)"""
    materialized = "MATERIALIZED " if connection.vendor == "postgresql" else ""  # compute each arrival once
    exits = f"""exits AS {materialized}(
            SELECT {x.key} AS scope_id, x.from_stage AS stage, x.occurred_at, {arrived} AS arrived_at
            FROM {T} x {x.join}
            WHERE x.kind IN ('forward', 'backward') AND x.occurred_at >= %s AND x.occurred_at < %s {x.where})"""
    # No WHERE on the arrival (it would evaluate the subquery twice): an exit without an earlier move
    # (inconsistent data) has days NULL, sorts last and is not counted.
    stays = f"""stays AS (
            SELECT scope_id, stage, {_days("occurred_at", "arrived_at")} AS days FROM exits)"""
    ranked = """ranked AS (
            SELECT scope_id, stage, days,
                   ROW_NUMBER() OVER (PARTITION BY scope_id, stage ORDER BY (days IS NULL), days) AS rn,
                   COUNT(days) OVER (PARTITION BY scope_id, stage) AS cnt
            FROM stays)"""
    sql = f"""
        {g.with_clause(exits, stays, ranked)}
        SELECT scope_id, stage, AVG(days) FROM ranked
        WHERE cnt > 0 AND (rn = (cnt + 1) / 2 OR rn = (cnt + 2) / 2)
        GROUP BY 1, 2"""
    params = [*g.cte_params, db_dt(start), db_dt(cutoff), *x.where_params]
    return {(int(scope_id), stage): round(float(days), 3) for scope_id, stage, days in _run(sql, params)}


D = Deal._meta.db_table
SC = StageConfig._meta.db_table
LR = LostReason._meta.db_table


def outcome_counts(g: Grouping, *, start: datetime, cutoff: datetime) -> dict[int, tuple[int, Any, int]]:
    """``{scope_id: (won deals, won amount, lost deals)}`` closed in ``[start, cutoff)``, attributed by the
    owner/team at closing. Won = entered ``signing`` (once per deal: signing is final); lost = a ``lose``
    transition (a deal lost, reopened and lost again in the period counts once)."""
    g = g.for_alias("t")
    won = f"t.kind IN {ENTRY_SQL} AND t.to_stage = 'signing'"
    sql = f"""
        {g.with_clause()}
        SELECT {g.key} AS scope_id,
               COUNT(DISTINCT CASE WHEN {won} THEN t.deal_id END),
               SUM(CASE WHEN {won} THEN (
                   SELECT COALESCE(d.contract_amount, d.amount, 0) FROM {D} d WHERE d.id = t.deal_id) ELSE 0 END),
               COUNT(DISTINCT CASE WHEN t.kind = 'lose' THEN t.deal_id END)
        FROM {T} t {g.join}
        WHERE (({won}) OR t.kind = 'lose') AND t.occurred_at >= %s AND t.occurred_at < %s {g.where}
        GROUP BY 1"""
    rows = _run(sql, [*g.cte_params, db_dt(start), db_dt(cutoff), *g.where_params])
    return {int(sid): (int(w), w_amt if w_amt is not None else 0, int(lost)) for sid, w, w_amt, lost in rows}


def lost_reason_counts(g: Grouping, *, start: datetime, cutoff: datetime) -> dict[tuple[int, str], int]:
    """``{(scope_id, reason code): deals}`` lost in the window and still lost now."""
    g = g.for_alias("t")
    sql = f"""
        {g.with_clause()}
        SELECT {g.key} AS scope_id, COALESCE(r.code, ''), COUNT(DISTINCT t.deal_id)
        FROM {T} t JOIN {D} d ON d.id = t.deal_id LEFT JOIN {LR} r ON r.id = d.lost_reason_id {g.join}
        WHERE t.kind = 'lose' AND d.status = 'lost' AND t.occurred_at >= %s AND t.occurred_at < %s {g.where}
        GROUP BY 1, 2"""
    rows = _run(sql, [*g.cte_params, db_dt(start), db_dt(cutoff), *g.where_params])
    return {(int(sid), code): int(n) for sid, code, n in rows}


def _month(column: str) -> str:
    if connection.vendor == "postgresql":
        return f"to_char({column}, 'YYYY-MM')"
    return f"strftime('%%Y-%%m', {column})"


def pipeline_by_month(g: Grouping) -> dict[tuple[int, str], Any]:
    """Open deals now (current owner/team): ``{(scope_id, 'YYYY-MM' or ''): Σ amount × probability}``."""
    g = g.for_alias("d")
    sql = f"""
        {g.with_clause()}
        SELECT {g.key} AS scope_id, COALESCE({_month("d.expected_close_date")}, ''),
               SUM(COALESCE(d.amount, 0) * sc.probability / 100.0)
        FROM {D} d JOIN {SC} sc ON sc.stage = d.stage {g.join}
        WHERE d.status = 'open' {g.where}
        GROUP BY 1, 2"""
    rows = _run(sql, [*g.cte_params, *g.where_params])
    return {(int(sid), month): value for sid, month, value in rows}


def open_counts(g: Grouping) -> dict[int, tuple[int, int]]:
    """``{scope_id: (open deals, of which flagged stale)}`` now, by current owner/team."""
    g = g.for_alias("d")
    sql = f"""
        {g.with_clause()}
        SELECT {g.key} AS scope_id, COUNT(*), SUM(CASE WHEN d.is_stale THEN 1 ELSE 0 END)
        FROM {D} d {g.join}
        WHERE d.status = 'open' {g.where}
        GROUP BY 1"""
    rows = _run(sql, [*g.cte_params, *g.where_params])
    return {int(sid): (int(n), int(stale or 0)) for sid, n, stale in rows}


def _before(alias: str) -> str:
    """Already reflected in the previous snapshot: older id AND occurred before its cutoff."""
    return f"({alias}.id <= %s AND {alias}.occurred_at < %s)"


def entered_delta(g: Grouping, *, start: datetime, cutoff: datetime, max_id: int, prev_cutoff: datetime) -> Counts:
    """Deals entering s in ``[start, cutoff)`` that the previous snapshot (transitions ``id <= max_id``
    occurring before ``prev_cutoff``) did not count. Transitions are append-only, so entered(s) only
    grows: new = previous + this delta. Reads only the histories of deals with a new transition."""
    g = g.for_alias("t")
    changed = f"""changed AS (
            SELECT DISTINCT n.deal_id FROM {T} n
            WHERE n.kind IN {ENTRY_SQL} AND n.occurred_at >= %s AND n.occurred_at < %s
            AND (n.id > %s OR n.occurred_at >= %s))"""
    sql = f"""
        {g.with_clause(changed)}
        SELECT scope_id, to_stage, COUNT(*) FROM (
            SELECT {g.key} AS scope_id, t.to_stage, t.deal_id,
                   MAX(CASE WHEN {_before("t")} THEN 1 ELSE 0 END) AS was
            FROM {T} t {g.join}
            WHERE t.deal_id IN (SELECT deal_id FROM changed)
            AND t.kind IN {ENTRY_SQL} AND t.occurred_at >= %s AND t.occurred_at < %s {g.where}
            GROUP BY 1, 2, 3
        ) per_deal WHERE was = 0
        GROUP BY 1, 2"""
    params = [
        *g.cte_params,
        db_dt(start),
        db_dt(cutoff),
        max_id,
        db_dt(prev_cutoff),
        max_id,
        db_dt(prev_cutoff),
        db_dt(start),
        db_dt(cutoff),
        *g.where_params,
    ]
    return {(int(s), stage): int(n) for s, stage, n in _run(sql, params)}


def cohort_delta(
    g: Grouping,
    *,
    start: datetime,
    cutoff: datetime,
    reached_by: datetime,
    max_id: int,
    prev_cutoff: datetime,
) -> Counts:
    """(deal in the scope's prep cohort, deal reached s) pairs new since the previous snapshot."""
    g = g.for_alias("t")
    changed = f"""changed AS (
            SELECT DISTINCT n.deal_id FROM {T} n
            WHERE n.kind IN {ENTRY_SQL} AND n.occurred_at < %s AND (n.id > %s OR n.occurred_at >= %s))"""
    cohort = f"""cohort AS (
            SELECT {g.key} AS scope_id, t.deal_id, MAX(CASE WHEN {_before("t")} THEN 1 ELSE 0 END) AS was
            FROM {T} t {g.join}
            WHERE t.deal_id IN (SELECT deal_id FROM changed) AND t.kind IN {ENTRY_SQL} AND t.to_stage = 'prep'
            AND t.occurred_at >= %s AND t.occurred_at < %s {g.where}
            GROUP BY 1, 2)"""
    reach = f"""reach AS (
            SELECT e.deal_id, e.to_stage, MAX(CASE WHEN {_before("e")} THEN 1 ELSE 0 END) AS was
            FROM {T} e
            WHERE e.deal_id IN (SELECT deal_id FROM changed) AND e.kind IN {ENTRY_SQL} AND e.occurred_at < %s
            GROUP BY 1, 2)"""
    sql = f"""
        {g.with_clause(changed, cohort, reach)}
        SELECT c.scope_id, r.to_stage, COUNT(*)
        FROM cohort c JOIN reach r ON r.deal_id = c.deal_id
        WHERE NOT (c.was = 1 AND r.was = 1)
        GROUP BY 1, 2"""
    params = [
        *g.cte_params,
        db_dt(reached_by),
        max_id,
        db_dt(prev_cutoff),
        max_id,
        db_dt(prev_cutoff),
        db_dt(start),
        db_dt(cutoff),
        *g.where_params,
        max_id,
        db_dt(prev_cutoff),
        db_dt(reached_by),
    ]
    return {(int(s), stage): int(n) for s, stage, n in _run(sql, params)}


def has_fresh(*, start: datetime, cutoff: datetime, max_id: int, prev_cutoff: datetime) -> bool:
    """Whether a transition in ``[start, cutoff)`` is new to the previous snapshot (id above its watermark
    or occurring after its as-of day). Two small index range scans (ids, then times)."""
    sql = f"""
        SELECT CASE WHEN EXISTS (
                   SELECT 1 FROM {T} WHERE id > %s AND occurred_at >= %s AND occurred_at < %s)
               OR EXISTS (
                   SELECT 1 FROM {T} WHERE occurred_at >= %s AND occurred_at >= %s AND occurred_at < %s)
               THEN 1 ELSE 0 END"""
    params = [max_id, db_dt(start), db_dt(cutoff), db_dt(start), db_dt(prev_cutoff), db_dt(cutoff)]
    return bool(_run(sql, params)[0][0])


def median_days_all(closure: Sequence[tuple[int, int]], *, start: datetime, cutoff: datetime) -> dict:
    """``median_days`` for every rep, every team of ``closure`` and the org in one query: the exits of the
    period and their arrivals are computed once, then keyed three ways.
    Returns ``{(scope_type, scope_id, stage): days}``."""
    g = group_teams(closure)
    # Arrivals: the previous stage change of the same deal inside the window (LAG over the window's
    # moves, one pass over the period index); only a deal's first move in the window looks further back,
    # with one index probe for the last move before the window.
    before = f"""(
            SELECT p.occurred_at FROM {T} p
            WHERE p.deal_id = mv.deal_id AND p.kind IN {MOVE_SQL} AND p.occurred_at < %s
            ORDER BY p.occurred_at DESC, p.id DESC LIMIT 1)"""
    materialized = "MATERIALIZED " if connection.vendor == "postgresql" else ""
    moves = f"""mv AS {materialized}(
            SELECT x.deal_id, x.kind, x.from_stage, x.occurred_at, x.owner_id, x.team_id,
                   LAG(x.occurred_at) OVER (PARTITION BY x.deal_id ORDER BY x.occurred_at, x.id) AS prev_at
            FROM {T} x
            WHERE x.kind IN {MOVE_SQL} AND x.occurred_at >= %s AND x.occurred_at < %s)"""
    exits = f"""exits AS {materialized}(
            SELECT owner_id, team_id, from_stage AS stage,
                   {_days("mv.occurred_at", f"COALESCE(mv.prev_at, {before})")} AS days
            FROM mv WHERE mv.kind IN ('forward', 'backward'))"""
    keyed = f"""keyed AS (
            SELECT '{ScopeType.USER.value}' AS st, owner_id AS sid, stage, days FROM exits
            UNION ALL
            SELECT '{ScopeType.TEAM.value}', c.ancestor_id, stage, days
            FROM exits e JOIN closure c ON c.team_id = e.team_id
            UNION ALL
            SELECT '{ScopeType.ORG.value}', 0, stage, days FROM exits)"""
    ranked = """ranked AS (
            SELECT st, sid, stage, days,
                   ROW_NUMBER() OVER (PARTITION BY st, sid, stage ORDER BY (days IS NULL), days) AS rn,
                   COUNT(days) OVER (PARTITION BY st, sid, stage) AS cnt
            FROM keyed)"""
    sql = f"""
        {g.with_clause(moves, exits, keyed, ranked)}
        SELECT st, sid, stage, AVG(days) FROM ranked
        WHERE cnt > 0 AND (rn = (cnt + 1) / 2 OR rn = (cnt + 2) / 2)
        GROUP BY 1, 2, 3"""
    rows = _run(sql, [*g.cte_params, db_dt(start), db_dt(cutoff), db_dt(start)])
    return {(st, int(sid), stage): round(float(days), 3) for st, sid, stage, days in rows}


def open_deal_rows() -> list[tuple[int, int, str, Any, int, int]]:
    """Open deals now grouped by current (owner, team, expected close month): ``(owner, team, month,
    Σ amount × probability, deals, of which stale)``. One pass over the open deals; callers roll the
    few hundred groups up to reps, teams and the org."""
    sql = f"""
        SELECT d.owner_id, d.team_id, COALESCE({_month("d.expected_close_date")}, ''),
               SUM(COALESCE(d.amount, 0) * sc.probability / 100.0), COUNT(*),
               SUM(CASE WHEN d.is_stale THEN 1 ELSE 0 END)
        FROM {D} d JOIN {SC} sc ON sc.stage = d.stage
        WHERE d.status = 'open'
        GROUP BY 1, 2, 3"""
    return [(int(o), int(t), m, v, int(n), int(s or 0)) for o, t, m, v, n, s in _run(sql, [])]


def _keyed_union(source: str, columns: str) -> str:
    """Rows of CTE ``source`` (with owner_id, team_id) keyed three ways: rep, every ancestor team, org."""
    return f"""keyed AS (
            SELECT '{ScopeType.USER.value}' AS st, owner_id AS sid, {columns} FROM {source}
            UNION ALL
            SELECT '{ScopeType.TEAM.value}', c.ancestor_id, {columns}
            FROM {source} s JOIN closure c ON c.team_id = s.team_id
            UNION ALL
            SELECT '{ScopeType.ORG.value}', 0, {columns} FROM {source})"""


def entered_all(closure: Sequence[tuple[int, int]], *, start: datetime, cutoff: datetime) -> dict:
    """``entered_counts`` of every rep, team and the org from one pass over the period's entries.
    Returns ``{(scope_type, scope_id, stage): deals}``."""
    g = group_teams(closure)
    materialized = "MATERIALIZED " if connection.vendor == "postgresql" else ""
    src = f"""src AS {materialized}(
            SELECT DISTINCT t.owner_id, t.team_id, t.to_stage, t.deal_id FROM {T} t
            WHERE t.kind IN {ENTRY_SQL} AND t.occurred_at >= %s AND t.occurred_at < %s)"""
    sql = f"""
        {g.with_clause(src, _keyed_union("src", "to_stage, deal_id"))}
        SELECT st, sid, to_stage, COUNT(DISTINCT deal_id) FROM keyed GROUP BY 1, 2, 3"""
    rows = _run(sql, [*g.cte_params, db_dt(start), db_dt(cutoff)])
    return {(st, int(sid), stage): int(n) for st, sid, stage, n in rows}


def cohort_all(closure: Sequence[tuple[int, int]], *, start: datetime, cutoff: datetime, reached_by: datetime) -> dict:
    """``cohort_counts`` of every rep, team and the org in one query (see there)."""
    g = group_teams(closure)
    materialized = "MATERIALIZED " if connection.vendor == "postgresql" else ""
    src = f"""src AS {materialized}(
            SELECT DISTINCT t.owner_id, t.team_id, t.deal_id FROM {T} t
            WHERE t.kind IN {ENTRY_SQL} AND t.to_stage = 'prep' AND t.occurred_at >= %s AND t.occurred_at < %s)"""
    reach = f"""reach AS {materialized}(
            SELECT DISTINCT e.deal_id, e.to_stage FROM {T} e
            WHERE e.kind IN {ENTRY_SQL} AND e.occurred_at >= %s AND e.occurred_at < %s
            AND e.deal_id IN (SELECT deal_id FROM src))"""
    sql = f"""
        {g.with_clause(src, reach, _keyed_union("src", "deal_id"))}
        SELECT k.st, k.sid, r.to_stage, COUNT(DISTINCT k.deal_id)
        FROM keyed k JOIN reach r ON r.deal_id = k.deal_id
        GROUP BY 1, 2, 3"""
    rows = _run(sql, [*g.cte_params, db_dt(start), db_dt(cutoff), db_dt(start), db_dt(reached_by)])
    return {(st, int(sid), stage): int(n) for st, sid, stage, n in rows}
