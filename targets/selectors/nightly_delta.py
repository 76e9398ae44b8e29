"""The night's histories: what an incremental nightly run reads of the deals that changed since the run it
builds on, read ONCE into a temporary table that every delta query of the run shares.

``NightHistories.build`` copies the moves (create/forward/backward, with their stored stays), losses and
reopenings of every deal with a transition new to the previous run (id above its watermark or one of its
gaps — see ``targets.watermark`` — or occurring at or after the end of its as-of day) or listed (the deals
whose values changed since, for the outcome ledgers): their whole histories, read from the deal-history
index (~10 k deals, ~40 k rows for 1 % of a million deals changed). The stays check reads the whole
histories; then the table keeps only the rows inside the run's period windows (``narrow``: ~13 k rows), which
every delta query reads instead of probing the transitions' deal index again per figure and period.

Each delta counts what is new to the previous run among the rows it reads, so reading more deals than the
changed ones adds nothing: a deal with no transition new to the previous run has only transitions the
previous run counted (``_old``), which every delta leaves out. The table holds a superset of the deals each
delta used to select by its own index ranges, with their complete histories, so the results are the same.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from django.db import connection

from targets.selectors.nightly_sql import EXIT_SQL, _materialized, id_rows, keyed_union, run_hashed
from targets.selectors.sql import ENTRY_SQL, MOVE_SQL, T, Watermark, db_dt, group_teams, seen_ids, unseen_ids

HIST = "nightly_histories"
HIST_WINDOWS = "nightly_histories_windows"  # (the rows inside the run's period windows, after ``narrow``)
HIST_KINDS = "('create', 'forward', 'backward', 'lose', 'reopen')"


@dataclass
class NightHistories:
    """The temporary table of the night's histories (see the module); ``table`` is its name."""

    max_id: int
    prev_cutoff: datetime
    table: str = HIST

    @classmethod
    def build(
        cls, *, max_id: int, prev_cutoff: datetime, deals: Sequence[int] = (), moves_after: int | None = None
    ) -> NightHistories:
        """Copy the histories of the deals with a transition above ``max_id`` (or above ``moves_after``, the
        last stays check's watermark, when lower) or occurring at or after ``prev_cutoff``, of the deals with
        a move whose stay is not filled yet (``stays_fill`` reads its deals' moves here too), and of
        ``deals``. Index ranges find the deals (primary key, time index, the unfilled moves' index); their rows
        are read from the deal-history index, which holds every column copied (PostgreSQL: an index-only
        scan, a deal's rows side by side on a leaf page, where their heap rows lie ~2 pages a deal apart;
        only rows on pages not yet all-visible — the night's own — are looked up). Drops a table left by an
        earlier run of this session."""
        pg = connection.vendor == "postgresql"
        listed, ids = id_rows(deals)
        since: int = max_id
        if moves_after is not None:  # the lower watermark, with both runs' gaps
            gaps = [*getattr(max_id, "gaps", ()), *getattr(moves_after, "gaps", ())]
            since = Watermark(min(max_id, moves_after), gaps)
        fence = " OFFSET 0" if pg else ""  # the new ids alone (see sql.changed_deals_sql)
        # (UNION ALL: the index scan drops repeated ids itself, and no hash sized by an estimate is built)
        deal_ids = f"""SELECT n.deal_id FROM (SELECT deal_id FROM {T} WHERE {unseen_ids("id", since)}{fence}) n
                UNION ALL SELECT deal_id FROM {T} WHERE occurred_at >= %s
                UNION ALL SELECT deal_id FROM {T} WHERE kind IN {EXIT_SQL} AND stay_started_at IS NULL
                UNION ALL {listed}"""
        match = f"= ANY(ARRAY({deal_ids}))" if pg else f"IN ({deal_ids})"
        with connection.cursor() as cursor:
            for table in (HIST, HIST_WINDOWS):
                cursor.execute(f"DROP TABLE IF EXISTS {table}")
            # ``arrived``: a move's previous move (when the deal arrived in the stage it leaves), for the stays check
            cursor.execute(
                f"""CREATE TEMPORARY TABLE {HIST} AS
                    SELECT t.id, t.deal_id, t.kind, t.to_stage, t.occurred_at, t.owner_id, t.team_id,
                           t.stay_started_at, t.stay_bucket,
                           CASE WHEN t.kind IN {MOVE_SQL} THEN LAG(t.occurred_at) OVER (
                               PARTITION BY t.deal_id, t.kind IN {MOVE_SQL} ORDER BY t.occurred_at, t.id) END AS arrived
                    FROM {T} t WHERE t.deal_id {match} AND t.kind IN {HIST_KINDS}""",
                [since, db_dt(prev_cutoff), ids],
            )
        return cls(max_id=max_id, prev_cutoff=prev_cutoff)

    def narrow(self, start: datetime) -> None:
        """Keep only the rows occurring at or after ``start`` (the earliest period window of the run): the
        whole histories are for the stays check, which has run; every delta reads its period's window only.
        A copy (~a third of the rows), so the later scans do not walk the dropped rows' pages."""
        with connection.cursor() as cursor:
            cursor.execute(
                f"CREATE TEMPORARY TABLE {HIST_WINDOWS} AS SELECT * FROM {self.table} WHERE occurred_at >= %s",
                [db_dt(start)],
            )
            cursor.execute(f"DROP TABLE {self.table}")
        self.table = HIST_WINDOWS

    def drop(self) -> None:
        with connection.cursor() as cursor:
            cursor.execute(f"DROP TABLE IF EXISTS {self.table}")

    def old(self, alias: str) -> tuple[str, list[object]]:
        """Already counted by the previous run: seen by it (id at most its watermark, not one of its gaps) AND
        occurred before its as-of day ended (1, else 0)."""
        return (
            f"CASE WHEN {seen_ids(f'{alias}.id', self.max_id)} AND {alias}.occurred_at < %s THEN 1 ELSE 0 END",
            [self.max_id, db_dt(self.prev_cutoff)],
        )


def entered_delta_all(
    closure: Sequence[tuple[int, int]], *, hist: NightHistories, start: datetime, cutoff: datetime
) -> dict:
    """Per (scope_type, scope_id, stage): deals entering the stage in ``[start, cutoff)`` in the scope that
    the previous run did not count (every entry of the deal there is new to it). Entries are append-only,
    so entered = previous + delta. One query for every scope, over the night's histories.

    Nearly every (deal, stage) of a night has ONE entry in the window: if it is new, the deal counts once in
    each scope of that entry's owner and team, so those are counted per (owner, team, stage) and keyed to
    the scopes afterwards (a few hundred groups, not a row per deal and scope). A deal with several entries
    into the stage there, one of them new, is counted per scope and deal as the definition says."""
    g = group_teams(closure)
    old, old_params = hist.old("t")
    src = f"""src AS {_materialized()}(
            SELECT t.owner_id, t.team_id, t.to_stage, t.deal_id, {old} AS old FROM {hist.table} t
            WHERE t.kind IN {ENTRY_SQL} AND t.occurred_at >= %s AND t.occurred_at < %s)"""
    pairs = f"""pairs AS {_materialized()}(
            SELECT deal_id, to_stage, COUNT(*) AS n, MAX(old) AS was, MIN(old) AS fresh FROM src GROUP BY 1, 2)"""
    # one entry, new: counted per owner and team
    single = """single AS (
            SELECT s.owner_id, s.team_id, s.to_stage, COUNT(*) AS n FROM src s
            JOIN pairs p ON p.deal_id = s.deal_id AND p.to_stage = s.to_stage WHERE p.n = 1 AND p.was = 0
            GROUP BY 1, 2, 3)"""
    # several entries, at least one new: per scope, the deal counts if all its entries there are new
    several = """several AS (
            SELECT s.owner_id, s.team_id, s.to_stage, s.deal_id, s.old FROM src s
            JOIN pairs p ON p.deal_id = s.deal_id AND p.to_stage = s.to_stage WHERE p.n > 1 AND p.fresh = 0)"""
    keyed_single = keyed_union("single", "to_stage, n", name="keyed_single")
    keyed_several = keyed_union("several", "to_stage, deal_id, old", name="keyed_several")
    sql = f"""
        {g.with_clause(src, pairs, single, several, keyed_single, keyed_several)}
        SELECT st, sid, to_stage, SUM(n) FROM (
            SELECT st, sid, to_stage, n FROM keyed_single
            UNION ALL
            SELECT st, sid, to_stage, 1 FROM keyed_several GROUP BY st, sid, to_stage, deal_id HAVING MAX(old) = 0
        ) fresh
        GROUP BY 1, 2, 3"""
    params = [*g.cte_params, *old_params, db_dt(start), db_dt(cutoff)]
    return {(st, int(sid), stage): int(n) for st, sid, stage, n in run_hashed(sql, params)}


def cohort_delta_all(
    closure: Sequence[tuple[int, int]],
    *,
    hist: NightHistories,
    start: datetime,
    cutoff: datetime,
    reached_by: datetime,
) -> dict:
    """Per (scope_type, scope_id, stage): (deal in the scope's prep cohort of ``[start, cutoff)``, deal
    entered the stage in ``[start, reached_by)``, as ``cohort_all`` counts) pairs the previous run did not
    count (its cohort membership or its reach is new). One query for every scope, over the night's
    histories."""
    g = group_teams(closure)
    old_t, old_params = hist.old("t")
    old_e, _same = hist.old("e")
    src = f"""src AS {_materialized()}(
            SELECT t.owner_id, t.team_id, t.deal_id, {old_t} AS old FROM {hist.table} t
            WHERE t.kind IN {ENTRY_SQL} AND t.to_stage = 'prep' AND t.occurred_at >= %s AND t.occurred_at < %s)"""
    cohort = """cohort AS (SELECT st, sid, deal_id, MAX(old) AS was FROM keyed GROUP BY 1, 2, 3)"""
    reach = f"""reach AS (
            SELECT e.deal_id, e.to_stage, MAX({old_e}) AS was FROM {hist.table} e
            WHERE e.deal_id IN (SELECT deal_id FROM src) AND e.kind IN {ENTRY_SQL}
            AND e.occurred_at >= %s AND e.occurred_at < %s
            GROUP BY 1, 2)"""
    sql = f"""
        {g.with_clause(src, keyed_union("src", "deal_id, old"), cohort, reach)}
        SELECT c.st, c.sid, r.to_stage, COUNT(*)
        FROM cohort c JOIN reach r ON r.deal_id = c.deal_id
        WHERE NOT (c.was = 1 AND r.was = 1)
        GROUP BY 1, 2, 3"""
    params = [*g.cte_params, *old_params, db_dt(start), db_dt(cutoff), *old_params, db_dt(start), db_dt(reached_by)]
    return {(st, int(sid), stage): int(n) for st, sid, stage, n in run_hashed(sql, params)}
