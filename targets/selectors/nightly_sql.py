"""The nightly job's SQL: every figure for every rep, team and the org in ONE query per figure.

Each query reads its rows once and keys them three ways (rep = owner then, every ancestor team of the
team then, org = 0) through ``keyed_union``; results are ``{(scope_type, scope_id, ...): value}``.
Counting rules are those of ``targets.selectors.sql`` (SPEC §3, docs/counting.md).

Incremental runs read only what is new to the previous run: the entered/cohort deltas the night's histories
(``targets.selectors.nightly_delta``), the new exits and ``exits_fresh`` index ranges (primary key, time
index), never a pass over the period.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import orjson
from django.db import connection, transaction
from django.db.models import Model
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from pipeline.models.core import STAY_BUCKET_SCALE
from targets.models import ScopeType
from targets.selectors.sql import (
    ENTRY_SQL,
    MOVE_SQL,
    SC,
    D,
    T,
    Watermark,
    _days,
    _month,
    _run,
    db_dt,
    group_teams,
    seen_ids,
    unseen_ids,
)

EXIT_SQL = "('forward', 'backward')"
# an exit (alias x) that ends a stay: not one from a rung passed through (left at the instant it was entered)
STAYED = "x.stay_started_at < x.occurred_at"


def _materialized() -> str:
    return "MATERIALIZED " if connection.vendor == "postgresql" else ""


def in_ids(select: str) -> str:
    """``IN (select)`` of a few ids; on PostgreSQL an array, so the planner probes an index per id rather
    than joining a whole period's rows by hash."""
    return f"= ANY(ARRAY({select}))" if connection.vendor == "postgresql" else f"IN ({select})"


def run_hashed(sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
    """``_run`` with PostgreSQL's nested-loop joins off: for a query whose rows come from index look-ups
    of a list of ids (``in_ids``), whose count the planner cannot estimate (it guesses one row and would
    join two such sets by nested loops, quadratic in the night's changes)."""
    return run_planned(sql, params, enable_nestloop="off")


def run_planned(sql: str, params: Sequence[Any], fetch: bool = True, **settings: str) -> list[tuple[Any, ...]]:
    """Run one statement with PostgreSQL planner ``settings`` (``SET LOCAL``, restored after it)."""
    with transaction.atomic(), connection.cursor() as cursor:
        pg = connection.vendor == "postgresql"
        if pg:
            for name, value in settings.items():
                cursor.execute(f"SET LOCAL {name} = {value}")
        try:
            cursor.execute(sql, params)
            return cursor.fetchall() if fetch else []
        finally:
            if pg:
                for name in settings:
                    cursor.execute(f"RESET {name}")


def id_rows(ids: Sequence[int]) -> tuple[str, str]:
    """A SELECT of the ids themselves (no table read) and its ONE parameter: an array on PostgreSQL, JSON on
    SQLite (one text literal: much cheaper to pass than a list of parameters)."""
    text = ",".join(map(str, map(int, ids)))
    if connection.vendor == "postgresql":
        return "SELECT unnest(%s::bigint[])", "{" + text + "}"
    return "SELECT value FROM json_each(%s)", "[" + text + "]"


def keyed_union(source: str, columns: str, *, name: str = "keyed") -> str:
    """CTE ``name``: the rows of CTE ``source`` (with owner_id, team_id) keyed three ways: rep, every ancestor
    team, org."""
    return f"""{name} AS (
            SELECT '{ScopeType.USER.value}' AS st, owner_id AS sid, {columns} FROM {source}
            UNION ALL
            SELECT '{ScopeType.TEAM.value}', c.ancestor_id, {columns}
            FROM {source} s JOIN closure c ON c.team_id = s.team_id
            UNION ALL
            SELECT '{ScopeType.ORG.value}', 0, {columns} FROM {source})"""


def entered_all(closure: Sequence[tuple[int, int]], *, start: datetime, cutoff: datetime) -> dict:
    """``sql.entered_counts`` of every rep, team and the org from one pass over the period's entries.
    Returns ``{(scope_type, scope_id, stage): deals}``."""
    g = group_teams(closure)
    src = f"""src AS {_materialized()}(
            SELECT t.owner_id, t.team_id, t.to_stage, t.deal_id FROM {T} t
            WHERE t.kind IN {ENTRY_SQL} AND t.occurred_at >= %s AND t.occurred_at < %s)"""
    # distinct (scope, stage, deal) first, then plain counts: two hash aggregates, no sort
    sql = f"""
        {g.with_clause(src, keyed_union("src", "to_stage, deal_id"))}
        SELECT st, sid, to_stage, COUNT(*) FROM (SELECT DISTINCT st, sid, to_stage, deal_id FROM keyed) d
        GROUP BY 1, 2, 3"""
    rows = _run(sql, [*g.cte_params, db_dt(start), db_dt(cutoff)])
    return {(st, int(sid), stage): int(n) for st, sid, stage, n in rows}


def cohort_all(closure: Sequence[tuple[int, int]], *, start: datetime, cutoff: datetime, reached_by: datetime) -> dict:
    """``sql.cohort_counts`` of every rep, team and the org in one query (see there)."""
    g = group_teams(closure)
    src = f"""src AS {_materialized()}(
            SELECT DISTINCT t.owner_id, t.team_id, t.deal_id FROM {T} t
            WHERE t.kind IN {ENTRY_SQL} AND t.to_stage = 'prep' AND t.occurred_at >= %s AND t.occurred_at < %s)"""
    reach = f"""reach AS {_materialized()}(
            SELECT DISTINCT e.deal_id, e.to_stage FROM {T} e
            WHERE e.kind IN {ENTRY_SQL} AND e.occurred_at >= %s AND e.occurred_at < %s
            AND e.deal_id IN (SELECT deal_id FROM src))"""
    # (scope, deal) distinct and (deal, stage) distinct: their join is distinct, so COUNT(*) counts deals
    sql = f"""
        {g.with_clause(src, reach, keyed_union("src", "deal_id"))}
        SELECT k.st, k.sid, r.to_stage, COUNT(*)
        FROM (SELECT DISTINCT st, sid, deal_id FROM keyed) k JOIN reach r ON r.deal_id = k.deal_id
        GROUP BY 1, 2, 3"""
    rows = _run(sql, [*g.cte_params, db_dt(start), db_dt(cutoff), db_dt(start), db_dt(reached_by)])
    return {(st, int(sid), stage): int(n) for st, sid, stage, n in rows}


def exits_fresh(*, start: datetime, cutoff: datetime, max_id: int, prev_cutoff: datetime) -> bool:
    """Whether an exit (forward/backward move) in ``[start, cutoff)`` is new to the previous run (id above
    its watermark, or occurring after its as-of day): the period's medians must then be recomputed. Two
    index range scans (primary key, exit index) that stop at the first row found."""
    sql = f"""
        SELECT CASE WHEN EXISTS (
                   SELECT 1 FROM {T} WHERE {unseen_ids("id", max_id)} AND kind IN {EXIT_SQL}
                   AND occurred_at >= %s AND occurred_at < %s)
               OR EXISTS (
                   SELECT 1 FROM {T} WHERE kind IN {EXIT_SQL} AND occurred_at >= %s AND occurred_at < %s)
               THEN 1 ELSE 0 END"""
    params = [max_id, db_dt(start), db_dt(cutoff), db_dt(max(start, prev_cutoff)), db_dt(cutoff)]
    return bool(_run(sql, params)[0][0])


# --- medians from stored stays -----------------------------------------------------------------


def bucket_sql(later: str, earlier: str) -> str:
    """The stay-length bucket of a stay from ``earlier`` to ``later``: floor(ln(1 + minutes) × 32), about
    3 % wide. Non-decreasing in the length, so ordering by (bucket, days) orders by days."""
    if connection.vendor == "postgresql":  # in float8, as deal_move computes it (numeric LN is ~10x slower)
        return f"FLOOR(LN(1 + EXTRACT(EPOCH FROM ({later} - {earlier}))::float8 / 60) * {STAY_BUCKET_SCALE})"
    return f"FLOOR(LN(1 + {_days(later, earlier)} * 1440) * {STAY_BUCKET_SCALE})"


@dataclass
class Rewritten:
    """A move whose stored stay ``stays_fill`` changed although a previous run had seen the move."""

    owner_id: int
    team_id: int
    stage: str
    occurred_at: datetime
    old_bucket: int | None
    new_bucket: int | None


@dataclass
class Filled:
    count: int = 0
    low: datetime | None = None
    high: datetime | None = None
    seen: list[Rewritten] = field(default_factory=list)


def stays_fill(*, seen_up_to: int = 0, check_after: int | None = None, hist: str | None = None) -> Filled:
    """Store on every forward/backward move when the deal arrived in the stage it leaves (its previous
    create/forward/backward, ordered by time then id) and the stay's bucket, for the deals with a move not
    filled yet. The whole history of such a deal is redone, so a move inserted into the past also corrects
    the stay of the move after it; with ``check_after`` (the id watermark of the last fill) also every deal
    with a move written since, whose stay ``deal_move`` recorded (it is checked against the history and
    corrected where it differs). Returns what changed: count and time span, and the rewritten moves with
    id up to ``seen_up_to`` (a previous run counted them with their old bucket). ``hist``: the night's histories
    (``targets.selectors.nightly_delta``), holding the moves of (at least) those deals with their stored stays
    and each move's previous move (``arrived``), read instead of the transitions."""
    todo = f"SELECT deal_id FROM {T} WHERE kind IN {EXIT_SQL} AND stay_started_at IS NULL"
    if check_after is not None:  # moves written since: their stays were recorded at write time, check them
        # (UNION ALL: a deal listed twice is read once either way, and no hash sized by the unfilled moves'
        # estimate — stale statistics may count every move — is built)
        todo += f" UNION ALL SELECT deal_id FROM {T} WHERE {unseen_ids('id', check_after)} AND kind IN {EXIT_SQL}"
        todo = todo.replace("%s", str(int(check_after)))
    else:
        todo = todo.replace("SELECT deal_id", "SELECT DISTINCT deal_id", 1)
    pg = connection.vendor == "postgresql"
    # an array: the planner probes the deal index (a hash of the few deals for the small ``hist``)
    deals = f"= ANY(ARRAY({todo}))" if pg and not hist else f"IN ({todo})"
    # the previous move of each: the night's histories have it (``arrived``), else one window over the deals
    arrived = "arrived" if hist else "LAG(occurred_at) OVER (PARTITION BY deal_id ORDER BY occurred_at, id) AS arrived"
    history = f"""SELECT id, kind, occurred_at, stay_started_at, stay_bucket, {arrived}
            FROM {hist or T} WHERE kind IN {MOVE_SQL} AND deal_id {deals}"""
    differs = "IS DISTINCT FROM" if pg else "IS NOT"
    bucket = bucket_sql("h.occurred_at", "h.arrived")
    # only the moves whose stored stay differs from the history reach the UPDATE (usually none)
    stays = f"""SELECT h.id, h.stay_bucket AS old_bucket, h.stay_started_at AS old_started, h.arrived,
                   {bucket} AS new_bucket FROM ({history}) h
            WHERE h.kind IN {EXIT_SQL}
            AND (h.stay_started_at {differs} h.arrived OR h.stay_bucket {differs} {bucket})"""
    assign = "stay_started_at = s.arrived, stay_bucket = s.new_bucket"

    def counted(bucket: str, started: str) -> str:  # the bucket a move counts in: none when passed through
        return f"CASE WHEN {started} < x.occurred_at THEN {bucket} END"

    columns = "x.id, x.owner_id, x.team_id, x.from_stage, x.occurred_at"
    if pg:
        sql = f"""
            WITH s AS MATERIALIZED ({stays}),
            done AS (UPDATE {T} x SET {assign} FROM s WHERE x.id = s.id
                     RETURNING {columns}, {counted("s.old_bucket", "s.old_started")} AS old_bucket,
                         {counted("x.stay_bucket", "x.stay_started_at")} AS new_bucket)
            SELECT id, owner_id, team_id, from_stage, occurred_at, old_bucket, new_bucket, NULL, NULL FROM done
            WHERE {seen_ids("id", seen_up_to)}
            UNION ALL
            SELECT NULL, NULL, NULL, NULL, MIN(occurred_at), NULL, NULL, COUNT(*), MAX(occurred_at) FROM done"""
        rows = _run(sql, [seen_up_to])
    else:
        old = f"""SELECT {columns}, {counted("s.old_bucket", "s.old_started")},
                  {counted("s.new_bucket", "s.arrived")} FROM {T} x JOIN ({stays}) s ON x.id = s.id"""
        changed = [(*r[:4], _as_dt(r[4]), *r[5:]) for r in _run(old, [])]
        watermark = Watermark(seen_up_to, getattr(seen_up_to, "gaps", ()))
        rows = [(*r, None, None) for r in changed if watermark.saw(r[0])]
        times = [r[4] for r in changed]
        rows.append(
            (None, None, None, None, min(times, default=None), None, None, len(changed), max(times, default=None))
        )
        _run(f"UPDATE {T} AS x SET {assign} FROM ({stays}) s WHERE x.id = s.id", [])
    *seen_rows, summary = rows
    seen = [
        Rewritten(int(o), int(t), st, _as_dt(at), None if ob is None else int(ob), None if nb is None else int(nb))
        for _i, o, t, st, at, ob, nb, _n, _h in seen_rows
    ]
    count, low, high = int(summary[7]), summary[4], summary[8]
    return Filled(count, _as_dt(low) if low else None, _as_dt(high) if high else None, seen)


def _as_dt(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    parsed = parse_datetime(str(value))  # SQLite: naive UTC text
    assert parsed is not None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _exits(*, new_since: tuple[int, datetime] | None) -> str:
    """The exits of ``[start, cutoff)`` with a stay (parameters: start, cutoff), or only those new to a
    previous run (``new_since`` = its watermark and as-of end: two index ranges, deduplicated by id;
    parameters: watermark, start, cutoff, the later of start and its as-of end, cutoff)."""
    columns = "x.id, x.owner_id, x.team_id, x.from_stage AS stage, x.stay_bucket AS bucket"
    exits = f"""x.kind IN {EXIT_SQL} AND x.stay_bucket IS NOT NULL AND {STAYED}
        AND x.occurred_at >= %s AND x.occurred_at < %s"""
    if new_since is None:
        return f"SELECT {columns} FROM {T} x WHERE {exits}"
    # the new ids alone (OFFSET 0 fences them on PostgreSQL, whose planner would otherwise AND the primary
    # key range with the whole period's range of the exit index)
    fence = " OFFSET 0" if connection.vendor == "postgresql" else ""
    return f"""SELECT {columns} FROM (SELECT * FROM {T} WHERE {unseen_ids("id", new_since[0])}{fence}) x WHERE {exits}
        UNION SELECT {columns} FROM {T} x WHERE {exits}"""


def stay_histograms(
    closure: Sequence[tuple[int, int]],
    *,
    start: datetime,
    cutoff: datetime,
    new_since: tuple[int, datetime] | None = None,
) -> dict[tuple[str, int, str], dict[int, int]]:
    """Exits of the period per stay bucket, for every rep, team and the org: ``{(scope_type, scope_id,
    stage): {bucket: exits}}``; with ``new_since`` = (watermark, as-of end of a previous run) only the
    exits new to it (counts are additive). One query."""
    g = group_teams(closure)
    params: list[Any] = [db_dt(start), db_dt(cutoff)]
    if new_since is not None:
        max_id, prev_cutoff = new_since
        params = [max_id, *params, db_dt(max(start, prev_cutoff)), db_dt(cutoff)]
    src = f"src AS {_materialized()}({_exits(new_since=new_since)})"
    counted = "counted AS (SELECT st, sid, stage, bucket, COUNT(*) AS n FROM keyed GROUP BY 1, 2, 3, 4)"
    # one row per group, its buckets as text "bucket,exits,bucket,exits,…" (any order): a few thousand rows
    # and one C-level parse each, not a row per bucket (~16 k of them on an incremental night, ~130 k in full)
    pairs = "CAST(bucket AS TEXT) || ',' || CAST(n AS TEXT)"
    listed = f"string_agg({pairs}, ',')" if connection.vendor == "postgresql" else f"group_concat({pairs}, ',')"
    sql = f"""
        {g.with_clause(src, keyed_union("src", "stage, bucket"), counted)}
        SELECT st, sid, stage, {listed} FROM counted GROUP BY 1, 2, 3"""
    result: dict[tuple[str, int, str], dict[int, int]] = {}
    for st, sid, stage, text in _run(sql, [*g.cte_params, *params]):
        flat = orjson.loads(f"[{text}]")
        result[(st, int(sid), stage)] = dict(zip(flat[::2], flat[1::2], strict=True))
    return result


def stays_at_ranks(
    closure: Sequence[tuple[int, int]],
    *,
    start: datetime,
    cutoff: datetime,
    wanted: Sequence[tuple[str, int, str, int, int]],
) -> dict[tuple[str, int, str, int, int], float]:
    """Days of the ``k``-th shortest stay (1-based) in bucket ``b`` of each wanted (scope_type, scope_id,
    stage, b, k), among the period's exits: reads only those buckets' exits (one index range each, the rep,
    team or org stay index). Returns ``{(scope_type, scope_id, stage, b, k): days}``."""
    if not wanted:
        return {}
    g = group_teams(closure)
    # the ~1,700 wanted tuples as ONE parameter (a JSON array of arrays): adapting and splitting thousands
    # of placeholders costs more than the query's own work
    if connection.vendor == "postgresql":
        want = """want(st, sid, stage, bucket, k) AS (
            SELECT w->>0, (w->>1)::bigint, w->>2, (w->>3)::int, (w->>4)::int FROM jsonb_array_elements(%s::jsonb) w)"""
    else:
        want = """want(st, sid, stage, bucket, k) AS (
            SELECT json_extract(w.value, '$[0]'), json_extract(w.value, '$[1]'), json_extract(w.value, '$[2]'),
                   json_extract(w.value, '$[3]'), json_extract(w.value, '$[4]') FROM json_each(%s) w)"""
    buckets = "buckets AS (SELECT DISTINCT st, sid, stage, bucket FROM want)"
    exits = f"""x.kind IN {EXIT_SQL} AND x.stay_bucket = b.bucket AND x.from_stage = b.stage AND {STAYED}
            AND x.occurred_at >= %s AND x.occurred_at < %s"""
    days = _days("x.occurred_at", "x.stay_started_at")
    rows = f"""stays AS (
            SELECT b.st, b.sid, b.stage, b.bucket, {days} AS days
            FROM buckets b JOIN {T} x ON x.owner_id = b.sid AND {exits} WHERE b.st = '{ScopeType.USER.value}'
            UNION ALL
            SELECT b.st, b.sid, b.stage, b.bucket, {days}
            FROM buckets b JOIN closure c ON c.ancestor_id = b.sid JOIN {T} x ON x.team_id = c.team_id AND {exits}
            WHERE b.st = '{ScopeType.TEAM.value}'
            UNION ALL
            SELECT b.st, b.sid, b.stage, b.bucket, {days}
            FROM buckets b JOIN {T} x ON {exits} WHERE b.st = '{ScopeType.ORG.value}')"""
    ranked = """ranked AS (
            SELECT st, sid, stage, bucket, days,
                   ROW_NUMBER() OVER (PARTITION BY st, sid, stage, bucket ORDER BY days) AS rn
            FROM stays)"""
    sql = f"""
        {g.with_clause(want, buckets, rows, ranked)}
        SELECT r.st, r.sid, r.stage, r.bucket, r.rn, r.days
        FROM ranked r JOIN want w ON w.st = r.st AND w.sid = r.sid AND w.stage = r.stage AND w.bucket = r.bucket
        AND w.k = r.rn"""
    window = [db_dt(start), db_dt(cutoff)]
    params = [*g.cte_params, orjson.dumps(list(wanted)).decode(), *window, *window, *window]
    return {(st, int(sid), stage, int(b), int(k)): float(d) for st, sid, stage, b, k, d in _run(sql, params)}


# --- open deals ---------------------------------------------------------------------------------


def open_deals_all(closure: Sequence[tuple[int, int]]) -> list[tuple[str, int, str, Any, int, int]]:
    """Open deals now by current owner/team, for every scope: ``(scope_type, scope_id, expected close month
    or '', Σ amount × stage probability, deals, of which stale)``. One pass over the open deals grouped by
    (owner, team, month), then those few thousand groups keyed three ways."""
    g = group_teams(closure)
    src = f"""src AS {_materialized()}(
            SELECT d.owner_id, d.team_id, COALESCE({_month("d.expected_close_date")}, '') AS month,
                   SUM(COALESCE(d.amount, 0) * sc.probability / 100.0) AS value, COUNT(*) AS n,
                   SUM(CASE WHEN d.is_stale THEN 1 ELSE 0 END) AS stale
            FROM {D} d JOIN {SC} sc ON sc.stage = d.stage
            WHERE d.status = 'open'
            GROUP BY 1, 2, 3)"""
    sql = f"""
        {g.with_clause(src, keyed_union("src", "month, value, n, stale"))}
        SELECT st, sid, month, SUM(value), SUM(n), SUM(stale) FROM keyed GROUP BY 1, 2, 3"""
    rows = _run(sql, g.cte_params)
    return [(st, int(sid), month, value, int(n), int(stale or 0)) for st, sid, month, value, n, stale in rows]


# --- writing the snapshot rows -----------------------------------------------------------------


def upsert_rows(
    model: type[Model], rows: Sequence[dict[str, Any]], *, unique_fields: Sequence[str], update_fields: Sequence[str]
) -> None:
    """Insert or update plain rows (``{field name: value}``, every concrete field but the primary key and the
    ``auto_now`` ones, which get now) on their unique key. PostgreSQL: ONE statement whose only parameter is
    the rows as a JSON document (orjson, decimals as text; ``json_to_recordset``, which reads the text once
    where a ``jsonb`` document is built first), which costs a fraction of adapting thousands of values one by
    one; elsewhere ``bulk_create``."""
    if connection.vendor != "postgresql":
        model._default_manager.bulk_create(
            [model(**r) for r in rows],
            batch_size=2000,
            update_conflicts=True,
            unique_fields=unique_fields,
            update_fields=update_fields,
        )
        return
    now = timezone.now()
    stamped = [f.column for f in model._meta.concrete_fields if getattr(f, "auto_now", False)]
    payload = orjson.dumps([{**r, **dict.fromkeys(stamped, now)} for r in rows], default=_jsonable).decode()
    upsert_json(model, payload, unique_fields=unique_fields, update_fields=update_fields)


def _jsonable(value: Any) -> str:
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"not serialisable: {type(value).__name__}")


def upsert_json(
    model: type[Model],
    payload: str,
    *,
    unique_fields: Sequence[str],
    update_fields: Sequence[str],
    computed: dict[str, str] | None = None,
    join: str = "",
    join_params: Sequence[Any] = (),
) -> None:
    """PostgreSQL: insert or update the rows of ``payload`` (a JSON array of objects keyed by column, every
    concrete column but the primary key; alias ``r``) on their unique key, in one statement. ``computed``
    replaces some columns by SQL expressions, which may read a table ``join`` adds."""
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]

    def column(name: str) -> str:
        return str(getattr(model._meta.get_field(name), "column"))  # noqa: B009 (a concrete field)

    qn = connection.ops.quote_name
    columns = ", ".join(qn(str(f.column)) for f in fields)
    types = ", ".join(f"{qn(str(f.column))} {f.db_type(connection)}" for f in fields)
    key = ", ".join(qn(column(name)) for name in unique_fields)
    sets = ", ".join(f"{qn(column(n))} = EXCLUDED.{qn(column(n))}" for n in update_fields)
    computed = computed or {}
    select = ", ".join(computed.get(str(f.column), f"r.{qn(str(f.column))}") for f in fields)
    sql = f"""
        INSERT INTO {qn(model._meta.db_table)} ({columns})
        SELECT {select} FROM json_to_recordset(%s::json) AS r({types}) {join}
        ON CONFLICT ({key}) DO UPDATE SET {sets}"""
    with connection.cursor() as cursor:
        cursor.execute(sql, [payload, *join_params])
