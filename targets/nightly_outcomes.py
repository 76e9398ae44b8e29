"""Won/lost counts, won amount and lost reasons of a snapshot period for every rep, team and the org, kept
incrementally and exactly.

Each deal counts once per period, by its last closing or reopening there (``sql.outcome_counts``: won,
lost, or — reopened last — neither), attributed by that transition's owner/team. The figures read the
deals' current values (a won deal's amount, a lost deal's status and reason), so a delta of new
transitions alone would miss an edit. ``NightlyClosedDeal`` keeps, per period, the values each deal with a
closing in it was counted with. A full computation of a period rebuilds those rows (one INSERT … SELECT)
and counts from them; an incremental one reads only the deals changed since the previous run (plus those
with a closing or reopening new to it) and adds, per scope, what they count now minus what they counted
then (the outcome decided by the transitions the previous run saw, with the ledger's values), writing their
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
from targets.selectors.nightly_delta import NightHistories
from targets.selectors.nightly_sql import _materialized, id_rows, in_ids, keyed_union, run_hashed
from targets.selectors.sql import (
    ENTRY_SQL,
    LR,
    D,
    T,
    _run,
    closing_sql,
    db_dt,
    group_teams,
    outcome_flags,
    seen_ids,
    unseen_ids,
)

CL = NightlyClosedDeal._meta.db_table
CLOSING = closing_sql("t")
# the deal's last closing or reopening in the period (by time, then id) decides its outcome there
LAST = "ROW_NUMBER() OVER (PARTITION BY deal_id ORDER BY occurred_at DESC, id DESC)"

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


def _events(where: str, max_id: int, table: str = T) -> str:
    """The period's closings and reopenings in ``table`` (the night's histories) of the deals ``where``
    selects (alias t), each marked ``old`` when the previous run (watermark ``max_id``) saw it (parameters:
    max_id, prev_cutoff, start, cutoff)."""
    window = "t.occurred_at >= %s AND t.occurred_at < %s"
    return f"""events AS {_materialized()}(
            SELECT t.id, t.deal_id, t.owner_id, t.team_id, t.occurred_at, t.kind, t.to_stage,
                   CASE WHEN {seen_ids("t.id", max_id)} AND t.occurred_at < %s THEN 1 ELSE 0 END AS old
            FROM {table} t WHERE {where} AND ({CLOSING} OR t.kind = 'reopen') AND {window})"""


def _decided(*, incremental: bool) -> str:
    """Per deal of ``events``: the transition deciding its outcome in the period now (``is_won``/``is_lost``)
    and, incremental, the one that decided it for the previous run (``was_won``/``was_lost``: its last seen
    closing or reopening), each attributed by its owner/team; a deal reopened last has no outcome."""
    flags = f"{outcome_flags('x')}"
    old = f", {LAST.replace('deal_id', 'deal_id, old')} AS old_rn" if incremental else ""
    ranked = f"ranked AS (SELECT e.*, {LAST} AS rn{old} FROM events e)"
    now = f"""SELECT x.owner_id, x.team_id, x.deal_id, {flags}, 0 AS was_won, 0 AS was_lost FROM ranked x
            WHERE x.rn = 1"""
    if not incremental:
        return f"{ranked}, decided AS ({now})"
    then = f"""SELECT x.owner_id, x.team_id, x.deal_id, 0, 0,
                   CASE WHEN x.kind IN {ENTRY_SQL} AND x.to_stage = 'signing' THEN 1 ELSE 0 END,
                   CASE WHEN x.kind = 'lose' THEN 1 ELSE 0 END
            FROM ranked x WHERE x.old = 1 AND x.old_rn = 1"""
    return f"{ranked}, decided AS ({now} UNION ALL {then})"


def _src() -> str:
    """``decided`` with each deal's values now (``amount``, ``code``: its lost reason while lost, else NULL)
    and as counted (the ledger: ``old_amount``, ``old_code``; parameters: period, period): index look-ups
    per row (the ledger's as scalar subqueries, whatever its statistics say)."""
    old = f"""(SELECT o.amount FROM {CL} o WHERE o.period = %s AND o.deal_id = x.deal_id) AS old_amount,
                   (SELECT o.lost_code FROM {CL} o WHERE o.period = %s AND o.deal_id = x.deal_id) AS old_code"""
    return f"""src AS {_materialized()}(
            SELECT x.owner_id, x.team_id, x.deal_id, x.is_won, x.is_lost, x.was_won, x.was_lost,
                   COALESCE(d.contract_amount, d.amount, 0) AS amount,
                   CASE WHEN d.status = 'lost' THEN COALESCE(r.code, '') END AS code, {old}
            FROM decided x JOIN {D} d ON d.id = x.deal_id LEFT JOIN {LR} r ON r.id = d.lost_reason_id)"""


PER_DEAL = """per_deal AS (
            SELECT k.st, k.sid, k.deal_id, MAX(k.is_won) AS won, MAX(k.is_lost) AS lost,
                   MAX(k.was_won) AS owon, MAX(k.was_lost) AS olost,
                   MAX(k.amount) AS amount, MAX(k.code) AS code, MAX(k.old_amount) AS old_amount,
                   MAX(k.old_code) AS old_code
            FROM keyed k GROUP BY 1, 2, 3)"""
KEYED = "deal_id, is_won, is_lost, was_won, was_lost, amount, code, old_amount, old_code"
# per scope: what the deals count now minus what they counted (the deciding closing then × old values);
# a lost deal's reason is its code, '' when it has none now (reopened since)
SELECT_DELTA = """
        SELECT 'o', st, sid, '', SUM(won - owon), SUM(won * amount - owon * COALESCE(old_amount, 0)),
               SUM(lost - olost)
        FROM per_deal GROUP BY st, sid
        UNION ALL
        SELECT 'r', st, sid, code, SUM(n), 0, 0 FROM (
            SELECT st, sid, COALESCE(code, '') AS code, 1 AS n FROM per_deal WHERE lost = 1
            UNION ALL
            SELECT st, sid, COALESCE(old_code, ''), -1 FROM per_deal WHERE olost = 1) r
        GROUP BY st, sid, code"""


def _put() -> str:
    """Upsert the ledger rows of the deals in ``src`` (parameter: period); unchanged rows are not written."""
    differs = "IS DISTINCT FROM" if connection.vendor == "postgresql" else "IS NOT"
    return f"""INSERT INTO {CL} (period, deal_id, amount, lost_code) SELECT DISTINCT %s, deal_id, amount, code FROM src
            WHERE 1 = 1 ON CONFLICT (period, deal_id) DO UPDATE SET amount = excluded.amount,
            lost_code = excluded.lost_code
            WHERE {CL}.amount <> excluded.amount OR {CL}.lost_code {differs} excluded.lost_code"""


def _src_full() -> str:
    """``src`` of a period computed from scratch (parameters: start, cutoff, start, cutoff): its closings,
    the reopenings of its lost deals, each deal's deciding transition, then the values of those deals by
    index look-ups (never a pass over every deal), joined by hash."""
    window = "t.occurred_at >= %s AND t.occurred_at < %s"
    return f"""closings AS {_materialized()}(
            SELECT t.id, t.deal_id, t.owner_id, t.team_id, t.occurred_at, t.kind, t.to_stage FROM {T} t
            WHERE {CLOSING} AND {window}),
        events AS {_materialized()}(
            SELECT * FROM closings
            UNION ALL
            SELECT t.id, t.deal_id, t.owner_id, t.team_id, t.occurred_at, t.kind, t.to_stage FROM {T} t
            WHERE t.kind = 'reopen' AND t.deal_id {in_ids("SELECT deal_id FROM closings WHERE kind = 'lose'")}
            AND {window}),
        {_decided(incremental=False)},
        vals AS {_materialized()}(
            SELECT d.id, COALESCE(d.contract_amount, d.amount, 0) AS amount,
                   CASE WHEN d.status = 'lost' THEN COALESCE(r.code, '') END AS code
            FROM {D} d LEFT JOIN {LR} r ON r.id = d.lost_reason_id
            WHERE d.id {in_ids("SELECT deal_id FROM decided")}),
        src AS {_materialized()}(
            SELECT c.owner_id, c.team_id, c.deal_id, c.is_won, c.is_lost, c.was_won, c.was_lost, v.amount, v.code,
                   CAST(NULL AS NUMERIC) AS old_amount, CAST(NULL AS VARCHAR(40)) AS old_code
            FROM decided c JOIN vals v ON v.id = c.deal_id)"""


def full(closure: Sequence[tuple[int, int]], *, period: str, start: datetime, cutoff: datetime) -> Outcomes:
    """Count the period's outcomes from scratch with the deals' values now, and rebuild the period's
    ledger rows with the values counted (on PostgreSQL in the same statement)."""
    g = group_teams(closure)
    params = [*g.cte_params, db_dt(start), db_dt(cutoff), db_dt(start), db_dt(cutoff)]
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
    for the deals in ``changed`` and those with a closing or reopening new to it, now − then, per scope.
    Their ledger rows take the values now, in the same statement on PostgreSQL."""
    g = group_teams(closure)
    listed, ids = id_rows(changed)
    window = "t.occurred_at >= %s AND t.occurred_at < %s"
    fresh = f"""changed AS (
            SELECT t.deal_id FROM {hist.table} t
            WHERE ({CLOSING} OR t.kind = 'reopen') AND {window}
            AND ({unseen_ids("t.id", hist.max_id)} OR t.occurred_at >= %s)
            UNION {listed})"""
    prev_cutoff = hist.prev_cutoff
    fresh_params = [db_dt(start), db_dt(cutoff), hist.max_id, db_dt(max(start, prev_cutoff)), ids]
    events = _events("t.deal_id IN (SELECT deal_id FROM changed)", hist.max_id, table=hist.table)
    event_params = [hist.max_id, db_dt(prev_cutoff), db_dt(start), db_dt(cutoff)]
    ctes = [fresh, events, _decided(incremental=True), _src(), keyed_union("src", KEYED), PER_DEAL]
    params = [*g.cte_params, *fresh_params, *event_params, period, period]
    if connection.vendor == "postgresql":
        sql = f"{g.with_clause(*ctes[:4], f'put AS ({_put()})', *ctes[4:])} {SELECT_DELTA}"
        return _result(_run(sql, [*params, period]))
    rows = _run(f"{g.with_clause(*ctes)} {SELECT_DELTA}", params)
    _exec(f"{g.with_clause(*ctes[:4])} {_put()}", [*params, period])
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
