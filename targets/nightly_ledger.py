"""Open-deal figures of the nightly run (open and stale counts, weighted pipeline by expected close month),
kept incrementally and exactly.

``NightlyOpenDeal`` holds, per open deal, what it added when the job last looked at it (owner, team, close
month, amount in cents × the stage's probability, stale flag); ``NightlyOpenTotal`` holds their sums per
(owner, team, month). A full run rebuilds both with one INSERT … SELECT each. An incremental run reads only
the deals changed since the last run (``updated_at`` after its watermark, less a margin for transactions
in flight; a transition above its id watermark) and the deals whose stale flag the run flips (the flag
UPDATEs return their ids): the totals get Σ(now − ledger) of those deals, the ledger their new rows.
Reading a deal twice adds nothing, so the changed set may be generous but must not miss a deal. Integer
units (cents × percent) keep the sums exact on every database; the snapshot rounds to cents at the end.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from django.db import connection
from django.db.models import F
from django.utils import timezone

from pipeline.models import Deal, StageConfig, StageTransition
from targets.models import NightlyInvalidation, NightlyLedgerState, NightlyOpenDeal, NightlyOpenTotal, NightlyRun
from targets.selectors.nightly_sql import _materialized, keyed_union, run_planned
from targets.selectors.sql import _month, _run, db_dt, group_teams

D = Deal._meta.db_table
SC = StageConfig._meta.db_table
T = StageTransition._meta.db_table
L = NightlyOpenDeal._meta.db_table
TOT = NightlyOpenTotal._meta.db_table
STATE = NightlyLedgerState._meta.db_table
L_PKEY = f"{L}_pkey"  # PostgreSQL's default name for the primary key
OPEN_LEDGER = "open_deals"

# Deals updated up to this long before a run's start (or before the oldest transaction open then) are read
# again by the next run: an edit stamped ``updated_at`` before the run read the changed deals may commit
# after it (and app servers' clocks may be a little apart).
MARGIN = timedelta(seconds=60)

LEDGER_COLUMNS = "deal_id, owner_id, team_id, month, units, is_stale"
DELETED_DEALS = "deleted_deals"


def _ledger_values() -> str:
    """A deal's ledger values (deal alias d, its stage's configuration sc): owner, team, close month, amount
    in cents × probability, stale flag."""
    return f"""d.owner_id, d.team_id, COALESCE({_month("d.expected_close_date")}, '') AS month,
        CAST(ROUND(COALESCE(d.amount, 0) * 100) AS BIGINT) * sc.probability AS units, d.is_stale"""


def _open_rows(where: str = "") -> str:
    """The ledger rows of the open deals now (``where`` narrows them): one per deal."""
    return f"""SELECT d.id, {_ledger_values()}
            FROM {D} d JOIN {SC} sc ON sc.stage = d.stage WHERE d.status = 'open' {where}"""


def _ids(ids: Sequence[int]) -> tuple[str, Any]:
    """``IN`` a list of ids given as ONE parameter (an array on PostgreSQL, JSON on SQLite)."""
    text = ",".join(map(str, map(int, ids)))  # one text literal: much cheaper to pass than a list
    if connection.vendor == "postgresql":
        return "= ANY(%s::bigint[])", "{" + text + "}"
    return "IN (SELECT value FROM json_each(%s))", "[" + text + "]"


def rebuild() -> None:
    """The ledger and its totals from scratch (full runs): one pass over the open deals. On PostgreSQL the
    ledger is filled without its primary key, which is then built in one sort (about half the cost of
    inserting 480 k ids into the index in table order); the state row says the build is complete."""
    pg = connection.vendor == "postgresql"
    with connection.cursor() as cursor:
        pkey = None
        if pg:
            cursor.execute(f"TRUNCATE {L}, {TOT}, {STATE}")
            # the primary key's name as the database has it (the one Django's migration created, normally)
            cursor.execute("SELECT conname FROM pg_constraint WHERE conrelid = %s::regclass AND contype = 'p'", [L])
            found = cursor.fetchone()
            pkey = connection.ops.quote_name(found[0] if found else L_PKEY)
            if found:
                cursor.execute(f"ALTER TABLE {L} DROP CONSTRAINT {pkey}")
        else:
            for table in (L, TOT, STATE):
                cursor.execute(f"DELETE FROM {table}")
        cursor.execute(f"INSERT INTO {L} ({LEDGER_COLUMNS}) {_open_rows()}", [])
        if pg:
            cursor.execute(f"ALTER TABLE {L} ADD CONSTRAINT {pkey} PRIMARY KEY (deal_id)")
        cursor.execute(
            f"""INSERT INTO {TOT} (owner_id, team_id, month, units, deals, stale)
                SELECT owner_id, team_id, month, SUM(units), COUNT(*), SUM(CASE WHEN is_stale THEN 1 ELSE 0 END)
                FROM {L} GROUP BY owner_id, team_id, month""",
            [],
        )
    NightlyLedgerState.objects.create(key=OPEN_LEDGER, built_at=timezone.now())


def last_mark() -> dict[str, Any] | None:
    """Where the ledger stands: the last finished run's mark (deals updated since, transition id, mode)."""
    run = NightlyRun.objects.filter(finished_at__isnull=False, stats__has_key="ledger").order_by("-finished_at").first()
    return run.stats["ledger"] if run else None


def is_complete() -> bool:
    """Whether the ledger holds a complete build (its state row exists: a crash empties the UNLOGGED ledger,
    its totals and the state together)."""
    return NightlyLedgerState.objects.filter(key=OPEN_LEDGER).exists()


def since_mark() -> datetime:
    """From when the next run must read the deals updated: now, or the start of the oldest transaction
    still open on this database (PostgreSQL; it may commit an edit stamped before now), less ``MARGIN``."""
    now = timezone.now()
    if connection.vendor == "postgresql":
        sql = """SELECT MIN(xact_start) FROM pg_stat_activity
                 WHERE datname = current_database() AND pid <> pg_backend_pid() AND xact_start IS NOT NULL"""
        oldest = _run(sql, [])[0][0]
        if oldest is not None:
            now = min(now, oldest)
    return now - MARGIN


def changed_deals(*, since: datetime, max_id: int) -> list[int]:
    """Deals updated at or after ``since`` or with a transition above ``max_id`` (two index ranges)."""
    sql = f"SELECT id FROM {D} WHERE updated_at >= %s UNION SELECT deal_id FROM {T} WHERE id > %s"
    return [int(r[0]) for r in _run(sql, [db_dt(since), max_id])]


# planner settings for joins of a few thousand ids to tables of ~500 k rows: the planner cannot tell how
# many ids a parameter holds, and a hash or merge join (or a bitmap of every open deal) looks cheaper
BY_ID = {"enable_seqscan": "off", "enable_bitmapscan": "off", "enable_hashjoin": "off", "enable_mergejoin": "off"}


DEAL_COLUMNS = "d.id, d.owner_id, d.team_id, d.expected_close_date, d.amount, d.stage, d.status, d.is_stale"


def apply_changed(*, since: datetime, max_id: int) -> list[int]:
    """``apply`` to ``changed_deals(since=, max_id=)``, which it returns. On PostgreSQL one statement: the
    deals updated since are read as the ``updated_at`` index walks to them (no second look-up by primary
    key), those with only a new transition by primary key."""
    if connection.vendor != "postgresql":
        changed = changed_deals(since=since, max_id=max_id)
        apply(changed)
        return changed
    touched = f"""updated AS MATERIALIZED (SELECT {DEAL_COLUMNS} FROM {D} d WHERE d.updated_at >= %s),
        touched AS MATERIALIZED (
            SELECT * FROM updated
            UNION ALL
            SELECT {DEAL_COLUMNS} FROM {D} d
            WHERE d.id = ANY(ARRAY(SELECT deal_id FROM {T} WHERE id > %s EXCEPT SELECT id FROM updated)))"""
    rows = _apply_pg(touched, [db_dt(since), max_id], returning=True)
    return [int(r[0]) for r in rows]


def apply(ids: Sequence[int]) -> None:
    """Bring the ledger and totals up to date for the deals ``ids``: totals += Σ(now − ledger)."""
    if not ids:
        return
    ids = sorted(set(ids))  # once each, in index order (the statement reads them as given)
    match, param = _ids(ids)
    if connection.vendor == "postgresql":
        # the ids passed once, the deals looked up by primary key
        touched = f"""touched AS MATERIALIZED (
            SELECT {DEAL_COLUMNS} FROM unnest(%s::bigint[]) i(id) JOIN {D} d ON d.id = i.id)"""
        _apply_pg(touched, [param])
        return
    old_rows = f"SELECT owner_id, team_id, month, units, is_stale FROM {L} WHERE deal_id {match}"
    gone = f"DELETE FROM {L} WHERE deal_id {match} AND deal_id NOT IN (SELECT id FROM cur)"
    with connection.cursor() as cursor:  # SQLite transactions are serialisable: the reads in three statements
        cur = f"cur AS ({_open_rows(f'AND d.id {match}')})"
        old = f"old AS ({old_rows})"
        cursor.execute(f"WITH {cur}, {old}, delta AS ({_delta()}) {_upsert_totals()}", [param, param])
        cursor.execute(f"WITH {cur} {gone}", [param, param])
        cursor.execute(f"WITH {cur} {_put()}", [param])
        cursor.execute(f"DELETE FROM {TOT} WHERE deals = 0", [])


def _apply_pg(touched: str, params: list[Any], *, returning: bool = False) -> list[tuple[Any, ...]]:
    """PostgreSQL: one statement — the totals, the ledger's new rows and its closed deals read the same
    snapshot; the deals and the ledger rows by index, never a pass. ``touched``: CTE(s) ending with
    ``touched``, the deals' rows (``DEAL_COLUMNS``). Each deal meets its ledger row once (one probe of the
    ledger's key, which also yields the row's address): the rewrite and the delete then reach the row by that
    address (a TID scan), not by a second probe; ledger rows that did not change are not rewritten."""
    old = ", ".join(f"b.old_{c}" for c in ("owner_id", "team_id", "month", "units", "is_stale"))
    new = "b.owner_id, b.team_id, b.month, b.units, b.is_stale"
    rows = run_planned(
        f"""WITH {touched},
            both_rows AS MATERIALIZED (
                SELECT d.id, d.status = 'open' AND sc.stage IS NOT NULL AS is_open, {_ledger_values()},
                       l.ctid AS tid, l.owner_id AS old_owner_id, l.team_id AS old_team_id, l.month AS old_month,
                       l.units AS old_units, l.is_stale AS old_is_stale
                FROM touched d LEFT JOIN {SC} sc ON sc.stage = d.stage LEFT JOIN {L} l ON l.deal_id = d.id),
            gone AS (DELETE FROM {L} USING both_rows b WHERE {L}.ctid = b.tid AND NOT b.is_open),
            rewritten AS (
                UPDATE {L} SET owner_id = b.owner_id, team_id = b.team_id, month = b.month, units = b.units,
                    is_stale = b.is_stale
                FROM both_rows b WHERE {L}.ctid = b.tid AND b.is_open AND ({old}) IS DISTINCT FROM ({new})),
            added AS (
                INSERT INTO {L} ({LEDGER_COLUMNS})
                SELECT id, owner_id, team_id, month, units, is_stale FROM both_rows WHERE is_open AND tid IS NULL),
            cur AS (SELECT owner_id, team_id, month, units, is_stale FROM both_rows WHERE is_open),
            old AS (
                SELECT old_owner_id AS owner_id, old_team_id AS team_id, old_month AS month, old_units AS units,
                       old_is_stale AS is_stale
                FROM both_rows WHERE tid IS NOT NULL),
            delta AS ({_delta()}),
            totals AS ({_upsert_totals()})
            SELECT id FROM both_rows""",
        params,
        fetch=returning,
        **BY_ID,
    )
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {TOT} WHERE deals = 0", [])
    return rows


def _delta() -> str:
    """Σ(now − ledger) by (owner, team, month) of the deals in ``cur`` (now) and ``old`` (ledger)."""
    stale = "CASE WHEN {a}.is_stale THEN {s}1 ELSE 0 END"
    return f"""SELECT owner_id, team_id, month, SUM(units) AS units, SUM(n) AS deals, SUM(s) AS stale FROM (
                SELECT owner_id, team_id, month, units, 1 AS n, {stale.format(a="c", s="")} AS s FROM cur c
                UNION ALL
                SELECT owner_id, team_id, month, -units, -1, {stale.format(a="o", s="-")} FROM old o) x
            GROUP BY owner_id, team_id, month"""


def _upsert_totals() -> str:
    return f"""INSERT INTO {TOT} (owner_id, team_id, month, units, deals, stale)
            SELECT owner_id, team_id, month, units, deals, stale FROM delta WHERE deals <> 0 OR units <> 0 OR stale <> 0
            ON CONFLICT (owner_id, team_id, month) DO UPDATE SET units = {TOT}.units + excluded.units,
                deals = {TOT}.deals + excluded.deals, stale = {TOT}.stale + excluded.stale"""


def _put() -> str:
    return f"""INSERT INTO {L} ({LEDGER_COLUMNS}) SELECT * FROM cur WHERE 1 = 1
            ON CONFLICT (deal_id) DO UPDATE SET owner_id = excluded.owner_id, team_id = excluded.team_id,
                month = excluded.month, units = excluded.units, is_stale = excluded.is_stale"""


def open_figures(closure: Sequence[tuple[int, int]]) -> list[tuple[str, int, str, int, int, int]]:
    """The totals by rep, team (with sub-teams) and org: ``(scope_type, scope_id, month, Σ amount ×
    probability in units of cents × percent (exact), deals, of which stale)``. One query over the totals."""
    g = group_teams(closure)
    src = f"src AS {_materialized()}(SELECT owner_id, team_id, month, units, deals, stale FROM {TOT})"
    sql = f"""
        {g.with_clause(src, keyed_union("src", "month, units, deals, stale"))}
        SELECT st, sid, month, SUM(units), SUM(deals), SUM(stale) FROM keyed GROUP BY 1, 2, 3"""
    return [
        (st, int(sid), month, int(units), int(n), int(stale))
        for st, sid, month, units, n, stale in _run(sql, g.cte_params)
    ]


def deletions() -> int:
    """The deleted-deals counter (see ``count_deletion``)."""
    row = NightlyInvalidation.objects.filter(key=DELETED_DEALS).values_list("version", flat=True).first()
    return int(row or 0)


def count_deletion() -> None:
    """A deal was deleted (with its history): the next nightly run must be full. One UPDATE."""
    if not NightlyInvalidation.objects.filter(key=DELETED_DEALS).update(version=F("version") + 1):
        NightlyInvalidation.objects.get_or_create(key=DELETED_DEALS, defaults={"version": 1})
