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
from datetime import UTC, datetime
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
    # integers written into the text (int() admits nothing else): the same closure gives the same query
    # text every time, which the driver parses once, not ~100 placeholders a query
    values = ", ".join(f"({int(team)}, {int(ancestor)})" for team, ancestor in pairs)
    return Grouping(
        ScopeType.TEAM,
        "c.ancestor_id",
        cte=f"closure(team_id, ancestor_id) AS (VALUES {values})",
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
    stage and neither start nor end a stay. A rung left at the instant it was entered (a skipped rung,
    one below the stage a deal was created at) was passed through: no stay. The median of an even count
    is the mean of the middle two.
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
    # (inconsistent data) or at the instant of its arrival (a rung passed through) has days NULL, sorts
    # last and is not counted.
    stays = f"""stays AS (
            SELECT scope_id, stage,
                   CASE WHEN arrived_at < occurred_at THEN {_days("occurred_at", "arrived_at")} END AS days
            FROM exits)"""
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


def closing_sql(alias: str) -> str:
    """The transition ``alias`` closes its deal: an entry into ``signing`` (won) or a ``lose``."""
    return f"({alias}.kind = 'lose' OR ({alias}.kind IN {ENTRY_SQL} AND {alias}.to_stage = 'signing'))"


def outcome_flags(alias: str) -> str:
    """``is_won``, ``is_lost`` of a closing or reopening transition ``alias``."""
    return f"""CASE WHEN {alias}.kind IN {ENTRY_SQL} AND {alias}.to_stage = 'signing' THEN 1 ELSE 0 END AS is_won,
               CASE WHEN {alias}.kind = 'lose' THEN 1 ELSE 0 END AS is_lost"""


def _decided(g: Grouping) -> tuple[list[str], list[Any]]:
    """CTEs ending in ``decided``: per deal with a closing in ``[start, cutoff)`` in the scope, its last
    closing or reopening in the period (by time, then id) when that is a closing — the deal's outcome in the
    period, attributed by that transition's owner/team (``is_won``/``is_lost``; reopened last: no row).
    Returns the CTEs and their parameters after ``start, cutoff`` (see ``outcome_counts``)."""
    s = g.for_alias("s")
    scoped = f"""scoped AS (
            SELECT DISTINCT s.deal_id FROM {T} s {s.join}
            WHERE {closing_sql("s")} AND s.occurred_at >= %s AND s.occurred_at < %s {s.where})"""
    events = f"""events AS (
            SELECT e.id, e.deal_id, e.owner_id, e.team_id, e.occurred_at, {outcome_flags("e")}
            FROM {T} e
            WHERE e.deal_id IN (SELECT deal_id FROM scoped) AND ({closing_sql("e")} OR e.kind = 'reopen')
            AND e.occurred_at >= %s AND e.occurred_at < %s)"""
    decided = """decided AS (
            SELECT * FROM (
                SELECT ev.*, ROW_NUMBER() OVER (PARTITION BY ev.deal_id ORDER BY ev.occurred_at DESC, ev.id DESC) AS rn
                FROM events ev) x
            WHERE x.rn = 1 AND (x.is_won = 1 OR x.is_lost = 1))"""
    return [scoped, events, decided], s.where_params


def outcome_counts(g: Grouping, *, start: datetime, cutoff: datetime) -> dict[int, tuple[int, Any, int]]:
    """``{scope_id: (won deals, won amount, lost deals)}`` closed in ``[start, cutoff)``. Each deal counts
    once per period, by its last closing in the period, attributed by the owner/team of that transition:
    won (entered ``signing``), or lost when its last ``lose`` in the period is not followed by a reopen in
    the period (a deal lost, reopened and won in one month is one won deal; lost, reopened and lost again
    is one lost deal). The won amount is the won deals' contract amount (else amount) now."""
    ctes, scoped_params = _decided(g)
    t = g.for_alias("t")
    sql = f"""
        {g.with_clause(*ctes)}
        SELECT {t.key} AS scope_id, SUM(t.is_won),
               SUM(CASE WHEN t.is_won = 1 THEN COALESCE(d.contract_amount, d.amount, 0) ELSE 0 END), SUM(t.is_lost)
        FROM decided t JOIN {D} d ON d.id = t.deal_id {t.join}
        WHERE 1 = 1 {t.where}
        GROUP BY 1"""
    window = [db_dt(start), db_dt(cutoff)]
    rows = _run(sql, [*g.cte_params, *window, *scoped_params, *window, *t.where_params])
    return {int(sid): (int(w), w_amt if w_amt is not None else 0, int(lost)) for sid, w, w_amt, lost in rows}


def lost_reason_code(deal: str = "d", reason: str = "r") -> str:
    """A lost deal's reason code: its reason now, or ``''`` when it has none now (reopened since)."""
    return f"CASE WHEN {deal}.status = 'lost' THEN COALESCE({reason}.code, '') ELSE '' END"


def lost_reason_counts(g: Grouping, *, start: datetime, cutoff: datetime) -> dict[tuple[int, str], int]:
    """``{(scope_id, reason code): deals}`` over exactly the deals ``outcome_counts`` counts as lost in the
    window (so the codes add up to the lost count): the deal's reason now, ``''`` when reopened since."""
    ctes, scoped_params = _decided(g)
    t = g.for_alias("t")
    sql = f"""
        {g.with_clause(*ctes)}
        SELECT {t.key} AS scope_id, {lost_reason_code()}, COUNT(*)
        FROM decided t JOIN {D} d ON d.id = t.deal_id LEFT JOIN {LR} r ON r.id = d.lost_reason_id {t.join}
        WHERE t.is_lost = 1 {t.where}
        GROUP BY 1, 2"""
    window = [db_dt(start), db_dt(cutoff)]
    rows = _run(sql, [*g.cte_params, *window, *scoped_params, *window, *t.where_params])
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


# "any time before": a lower bound the occurred_at indexes can use
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class Watermark(int):
    """The transition id watermark of a nightly run: the highest id it saw, and the ``gaps`` = the ids at or
    below it that it could not see. PostgreSQL assigns an id at INSERT but shows the row at COMMIT, so a
    transaction still open when the run read its watermark may commit lower ids later (see
    ``targets.watermark``). A transition was seen by the run iff its id is at most the watermark and not a
    gap; SQL from ``seen_ids`` / ``unseen_ids`` (one parameter: the watermark; the gaps are literal
    integers). A plain int is a watermark without gaps (SQLite, older runs)."""

    gaps: tuple[int, ...]

    def __new__(cls, value: int, gaps: Iterable[int] = ()) -> Watermark:
        obj = super().__new__(cls, value)
        obj.gaps = tuple(sorted({int(g) for g in gaps if int(g) <= value}))
        return obj

    def saw(self, transition_id: int) -> bool:
        return transition_id <= self and transition_id not in self.gaps


def _gaps(max_id: int) -> str:
    return ", ".join(str(int(g)) for g in getattr(max_id, "gaps", ()))


def seen_ids(column: str, max_id: int) -> str:
    """SQL: the transition ``column`` was seen by the run of watermark ``max_id`` (parameter: ``max_id``)."""
    gaps = _gaps(max_id)
    return f"({column} <= %s AND {column} NOT IN ({gaps}))" if gaps else f"{column} <= %s"


def unseen_ids(column: str, max_id: int) -> str:
    """SQL: the transition ``column`` is new to the run of watermark ``max_id`` (parameter: ``max_id``)."""
    gaps = _gaps(max_id)
    return f"({column} > %s OR {column} IN ({gaps}))" if gaps else f"{column} > %s"


def changed_deals_sql(*, kinds: str = ENTRY_SQL, max_id: int = 0, where: str = "") -> str:
    """SELECT of the deals with a transition of ``kinds`` in ``[low, high)`` that is new to a previous run
    (id above ``max_id`` or one of its gaps, or occurring at or after ``prev_cutoff``) — and matches
    ``where`` (``AND …`` on alias ``n``, e.g. a grouping's scope filter); parameters from
    ``changed_params``. A UNION of a primary-key range and an occurred_at range, each served by an index
    (an OR of the two would read the whole period)."""
    # the new ids first, alone (OFFSET 0 fences it on PostgreSQL, whose planner would otherwise AND the
    # primary-key range with a whole period's range of the time index)
    fence = " OFFSET 0" if connection.vendor == "postgresql" else ""
    columns = "deal_id, kind, occurred_at, owner_id, team_id"
    return f"""
            SELECT n.deal_id FROM (SELECT {columns} FROM {T} WHERE {unseen_ids("id", max_id)}{fence}) n
            WHERE n.kind IN {kinds} AND n.occurred_at >= %s AND n.occurred_at < %s {where}
            UNION
            SELECT n.deal_id FROM {T} n
            WHERE n.kind IN {kinds} AND n.occurred_at >= %s AND n.occurred_at < %s {where}"""


def changed_params(
    *, max_id: int, low: datetime, high: datetime, prev_cutoff: datetime, where_params: Sequence[Any] = ()
) -> list[Any]:
    return [max_id, db_dt(low), db_dt(high), *where_params, db_dt(max(low, prev_cutoff)), db_dt(high), *where_params]


def _before(alias: str, max_id: int) -> str:
    """Already reflected in the previous snapshot: seen by its run AND occurred before its cutoff."""
    return f"({seen_ids(f'{alias}.id', max_id)} AND {alias}.occurred_at < %s)"


def entered_delta(g: Grouping, *, start: datetime, cutoff: datetime, max_id: int, prev_cutoff: datetime) -> Counts:
    """Deals entering s in ``[start, cutoff)`` that the previous snapshot (transitions ``id <= max_id``
    occurring before ``prev_cutoff``) did not count. Transitions are append-only, so entered(s) only
    grows: new = previous + this delta. Reads only the histories of deals with a new entry in the
    grouping's scopes: a deal counts for a scope when every entry of it there is new, so it has one (a
    team's figures need not read the histories of the whole organisation's changed deals)."""
    changed = f"changed AS ({changed_deals_sql(max_id=max_id, where=g.for_alias('n').where)})"
    g = g.for_alias("t")
    sql = f"""
        {g.with_clause(changed)}
        SELECT scope_id, to_stage, COUNT(*) FROM (
            SELECT {g.key} AS scope_id, t.to_stage, t.deal_id,
                   MAX(CASE WHEN {_before("t", max_id)} THEN 1 ELSE 0 END) AS was
            FROM {T} t {g.join}
            WHERE t.deal_id IN (SELECT deal_id FROM changed)
            AND t.kind IN {ENTRY_SQL} AND t.occurred_at >= %s AND t.occurred_at < %s {g.where}
            GROUP BY 1, 2, 3
        ) per_deal WHERE was = 0
        GROUP BY 1, 2"""
    params = [
        *g.cte_params,
        *changed_params(max_id=max_id, low=start, high=cutoff, prev_cutoff=prev_cutoff, where_params=g.where_params),
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
    changed = (
        f"changed AS {'MATERIALIZED ' if connection.vendor == 'postgresql' else ''}({changed_deals_sql(max_id=max_id)})"
    )
    cohort = f"""cohort AS (
            SELECT {g.key} AS scope_id, t.deal_id, MAX(CASE WHEN {_before("t", max_id)} THEN 1 ELSE 0 END) AS was
            FROM {T} t {g.join}
            WHERE t.deal_id IN (SELECT deal_id FROM changed) AND t.kind IN {ENTRY_SQL} AND t.to_stage = 'prep'
            AND t.occurred_at >= %s AND t.occurred_at < %s {g.where}
            GROUP BY 1, 2)"""
    reach = f"""reach AS (
            SELECT e.deal_id, e.to_stage, MAX(CASE WHEN {_before("e", max_id)} THEN 1 ELSE 0 END) AS was
            FROM {T} e
            WHERE e.deal_id IN (SELECT deal_id FROM cohort) AND e.kind IN {ENTRY_SQL} AND e.occurred_at < %s
            GROUP BY 1, 2)"""
    sql = f"""
        {g.with_clause(changed, cohort, reach)}
        SELECT c.scope_id, r.to_stage, COUNT(*)
        FROM cohort c JOIN reach r ON r.deal_id = c.deal_id
        WHERE NOT (c.was = 1 AND r.was = 1)
        GROUP BY 1, 2"""
    params = [
        *g.cte_params,
        *changed_params(max_id=max_id, low=EPOCH, high=reached_by, prev_cutoff=prev_cutoff),
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
