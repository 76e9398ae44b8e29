"""Won/lost counts, won amount and lost reasons of a snapshot period for every rep, team and the org, kept
incrementally and exactly.

They read the deals' current values (a won deal's amount, a lost deal's status and reason), so a delta
of new transitions alone would miss an edit. ``NightlyClosedDeal`` keeps, per period, the values each deal
with a closing in it was counted with. A full computation of a period rebuilds those rows (one INSERT …
SELECT) and counts from them; an incremental one reads only the deals changed since the previous run
(plus those with a closing new to it) and adds, per scope, what they count now minus what they counted
then (the old closings = the transitions the previous run saw, the old values = the ledger), writing their
new values in the same statement, so the figures and the ledger never disagree.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.db import connection

from targets.models import NightlyClosedDeal, NightlyInvalidation
from targets.nightly_ledger import id_rows
from targets.selectors.nightly_delta import NightHistories
from targets.selectors.nightly_sql import _materialized, in_ids, keyed_union, run_hashed
from targets.selectors.sql import ENTRY_SQL, LR, D, T, _run, db_dt, group_teams, seen_ids, unseen_ids

CL = NightlyClosedDeal._meta.db_table
CLOSING = f"(t.kind = 'lose' OR (t.kind IN {ENTRY_SQL} AND t.to_stage = 'signing'))"
FLAGS = f"""CASE WHEN t.kind IN {ENTRY_SQL} AND t.to_stage = 'signing' THEN 1 ELSE 0 END AS is_won,
            CASE WHEN t.kind = 'lose' THEN 1 ELSE 0 END AS is_lost"""

ScopeKey = tuple[str, int]


@dataclass
class Outcomes:
    """Per scope: (won deals, won amount, lost deals) and {lost reason code: deals}."""

    counts: dict[ScopeKey, tuple[int, Decimal, int]] = field(default_factory=dict)
    reasons: dict[ScopeKey, dict[str, int]] = field(default_factory=dict)


def _result(rows: Sequence[tuple[Any, ...]]) -> Outcomes:
    out = Outcomes()
    for kind, st, sid, code, a, b, c in sorted(rows, key=lambda r: (r[0], r[1], int(r[2]), r[3] or "")):
        key = (st, int(sid))
        if kind == "o":
            out.counts[key] = (int(a), Decimal(str(b if b is not None else 0)), int(c))
        elif int(a):
            out.reasons.setdefault(key, {})[code] = int(a)
    return out


def _exec(sql: str, params: Sequence[Any]) -> None:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def _src(where: str, max_id: int, table: str = T) -> str:
    """The period's closings (alias t, narrowed by ``where``) with each deal's values now (``amount``,
    ``code``) and as counted (the ledger: ``old_amount``, ``old_code``): index look-ups per closing (the
    ledger's as scalar subqueries, whatever its statistics say), so no later join depends on the planner's
    estimate of how many closings there are."""
    old = f"""(SELECT o.amount FROM {CL} o WHERE o.period = %s AND o.deal_id = t.deal_id) AS old_amount,
                   (SELECT o.lost_code FROM {CL} o WHERE o.period = %s AND o.deal_id = t.deal_id) AS old_code"""
    return f"""src AS {_materialized()}(
            SELECT t.owner_id, t.team_id, t.deal_id, {FLAGS},
                   CASE WHEN {seen_ids("t.id", max_id)} AND t.occurred_at < %s THEN 1 ELSE 0 END AS old,
                   COALESCE(d.contract_amount, d.amount, 0) AS amount,
                   CASE WHEN d.status = 'lost' THEN COALESCE(r.code, '') END AS code,
                   {old}
            FROM {table} t JOIN {D} d ON d.id = t.deal_id LEFT JOIN {LR} r ON r.id = d.lost_reason_id
            WHERE {where} AND {CLOSING} AND t.occurred_at >= %s AND t.occurred_at < %s)"""


PER_DEAL = """per_deal AS (
            SELECT k.st, k.sid, k.deal_id, MAX(k.is_won) AS won, SUM(k.is_won) AS wins, MAX(k.is_lost) AS lost,
                   MAX(k.is_won * k.old) AS owon, SUM(k.is_won * k.old) AS owins, MAX(k.is_lost * k.old) AS olost,
                   MAX(k.amount) AS amount, MAX(k.code) AS code, MAX(k.old_amount) AS old_amount,
                   MAX(k.old_code) AS old_code
            FROM keyed k GROUP BY 1, 2, 3)"""
KEYED = "deal_id, is_won, is_lost, old, amount, code, old_amount, old_code"
# per scope: what the deals count now minus what they counted (old closings × old values)
SELECT_DELTA = """
        SELECT 'o', st, sid, '', SUM(won - owon), SUM(wins * amount - owins * COALESCE(old_amount, 0)),
               SUM(lost - olost)
        FROM per_deal GROUP BY st, sid
        UNION ALL
        SELECT 'r', st, sid, code, SUM(n), 0, 0 FROM (
            SELECT st, sid, code, 1 AS n FROM per_deal WHERE lost = 1 AND code IS NOT NULL
            UNION ALL
            SELECT st, sid, old_code, -1 FROM per_deal WHERE olost = 1 AND old_code IS NOT NULL) r
        GROUP BY st, sid, code"""


def _put() -> str:
    """Upsert the ledger rows of the deals in ``src`` (parameter: period); unchanged rows are not written."""
    differs = "IS DISTINCT FROM" if connection.vendor == "postgresql" else "IS NOT"
    return f"""INSERT INTO {CL} (period, deal_id, amount, lost_code) SELECT DISTINCT %s, deal_id, amount, code FROM src
            WHERE 1 = 1 ON CONFLICT (period, deal_id) DO UPDATE SET amount = excluded.amount,
            lost_code = excluded.lost_code
            WHERE {CL}.amount <> excluded.amount OR {CL}.lost_code {differs} excluded.lost_code"""


def _src_full() -> str:
    """``src`` of a period computed from scratch (parameters: start, cutoff): its closings, then the
    values of their deals by index look-ups (never a pass over every deal), joined by hash."""
    return f"""closings AS {_materialized()}(
            SELECT t.owner_id, t.team_id, t.deal_id, {FLAGS} FROM {T} t
            WHERE {CLOSING} AND t.occurred_at >= %s AND t.occurred_at < %s),
        vals AS {_materialized()}(
            SELECT d.id, COALESCE(d.contract_amount, d.amount, 0) AS amount,
                   CASE WHEN d.status = 'lost' THEN COALESCE(r.code, '') END AS code
            FROM {D} d LEFT JOIN {LR} r ON r.id = d.lost_reason_id
            WHERE d.id {in_ids("SELECT deal_id FROM closings")}),
        src AS {_materialized()}(
            SELECT c.owner_id, c.team_id, c.deal_id, c.is_won, c.is_lost, 0 AS old, v.amount, v.code,
                   CAST(NULL AS NUMERIC) AS old_amount, CAST(NULL AS VARCHAR(40)) AS old_code
            FROM closings c JOIN vals v ON v.id = c.deal_id)"""


def full(closure: Sequence[tuple[int, int]], *, period: str, start: datetime, cutoff: datetime) -> Outcomes:
    """Count the period's closings from scratch with the deals' values now, and rebuild the period's
    ledger rows with the values counted (on PostgreSQL in the same statement)."""
    g = group_teams(closure)
    params = [*g.cte_params, db_dt(start), db_dt(cutoff)]
    ctes = [_src_full(), keyed_union("src", KEYED), PER_DEAL]
    _exec(f"DELETE FROM {CL} WHERE period = %s", [period])
    if connection.vendor == "postgresql":
        sql = f"{g.with_clause(ctes[0], f'put AS ({_put()})', *ctes[1:])} {SELECT_DELTA}"
        return _result(run_hashed(sql, [*params, period]))
    rows = _run(f"{g.with_clause(*ctes)} {SELECT_DELTA}", params)
    _exec(f"{g.with_clause(ctes[0])} {_put()}", [*params, period])
    return _result(rows)


def delta(
    closure: Sequence[tuple[int, int]],
    *,
    period: str,
    start: datetime,
    cutoff: datetime,
    hist: NightHistories,
    changed: Sequence[int],
) -> Outcomes:
    """What the period's figures gained since the previous run (``hist``: the night's histories since it):
    for the deals in ``changed`` and those with a closing new to it, now − then, per scope. Their ledger
    rows take the values now, in the same statement on PostgreSQL."""
    g = group_teams(closure)
    listed, ids = id_rows(changed)
    window = "t.occurred_at >= %s AND t.occurred_at < %s"
    fresh = f"""changed AS (
            SELECT t.deal_id FROM {hist.table} t
            WHERE {CLOSING} AND {window} AND ({unseen_ids("t.id", hist.max_id)} OR t.occurred_at >= %s)
            UNION {listed})"""
    prev_cutoff = hist.prev_cutoff
    fresh_params = [db_dt(start), db_dt(cutoff), hist.max_id, db_dt(max(start, prev_cutoff)), ids]
    src_params = [hist.max_id, db_dt(prev_cutoff), period, period, db_dt(start), db_dt(cutoff)]
    src = _src("t.deal_id IN (SELECT deal_id FROM changed)", hist.max_id, table=hist.table)
    ctes = [fresh, src, keyed_union("src", KEYED), PER_DEAL]
    params = [*g.cte_params, *fresh_params, *src_params]
    if connection.vendor == "postgresql":
        sql = f"{g.with_clause(fresh, src, f'put AS ({_put()})', *ctes[2:])} {SELECT_DELTA}"
        return _result(_run(sql, [*params, period]))
    rows = _run(f"{g.with_clause(*ctes)} {SELECT_DELTA}", params)
    _exec(f"{g.with_clause(fresh, src)} {_put()}", [*params, period])
    return _result(rows)


LEDGER_AS_OF = "closed_ledger_as_of"


def ledger_as_of() -> date | None:
    """The as-of day of the last computation that wrote the ledger (its rows hold the values counted then)."""
    found = NightlyInvalidation.objects.filter(key=LEDGER_AS_OF).values_list("version", flat=True).first()
    return date.fromordinal(found) if found else None


def set_ledger_as_of(as_of: date) -> None:
    NightlyInvalidation.objects.update_or_create(key=LEDGER_AS_OF, defaults={"version": as_of.toordinal()})


def prune(keep: Sequence[str]) -> None:
    """Drop the ledger rows of the periods no longer snapshotted (full runs)."""
    NightlyClosedDeal.objects.exclude(period__in=list(keep)).delete()
