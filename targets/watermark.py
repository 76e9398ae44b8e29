"""The transition id watermark a nightly run records, safe against transactions in flight.

Incremental runs and live figures treat a transition as already counted when the run it builds on saw it
(``targets.selectors.sql.Watermark``). On PostgreSQL a transition's id is taken from the sequence at INSERT
but the row becomes visible at COMMIT: a transaction still open when a run reads ``MAX(id)`` (a 1,000-lead
intake batch, an import) may commit ids *below* it afterwards. Those ids are recorded as the run's *gaps*:
the ids at or below the watermark that the run could not see, which later runs and live requests treat as
new.

Which ids may still commit: every id at or below ``L`` is settled (committed and seen, or rolled back),
where ``L`` is the sequence's value at a moment before every session that may hold ids began to take
them. Sequence values only grow, so a transaction that began after a reading of the sequence holds ids
above it. Each run records such a reading (the sequence's last value, then the clock); the run reads, in
``pg_stat_activity`` (after its own reading of the sequence), when the oldest such session began (a
transaction that has written: its start; a statement running now in one that has not: the statement's
start), and takes ``L`` = its own reading when there is none, else the reading of the latest earlier run
taken before that moment (none: 0). A run that reads one snapshot (REPEATABLE READ) takes the sequence
and activity readings before its snapshot (``read_sequence``), so every session that may hold ids
invisible to the snapshot is among those it saw writing or began after its reading. The gaps are then
the ids in ``(L, MAX(id)]`` not visible (a rolled-back id is a gap too; it never commits and costs nothing
but a look-up). When the range or the
gaps are too large to list, the gaps are unknown: the next run builds from scratch and live figures are
computed without the run's snapshot.

This assumes the identity sequence hands out values one at a time (``CACHE 1``, PostgreSQL's and Django's
default). SQLite writes one transaction at a time: ``MAX(id)`` is exact, no gaps.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import connection

from pipeline.models import StageTransition
from targets.models import NightlyRun
from targets.selectors.sql import Watermark, _run

T = StageTransition._meta.db_table

# At most this many ids are checked for gaps, and at most this many gaps are listed (beyond: unknown).
GAP_SCAN_LIMIT = 2_000_000
GAP_LIMIT = 20_000


@dataclass(frozen=True)
class Reading:
    """What must be read before a run's snapshot: the id sequence's value and the clock then, and when the
    oldest session that may still commit ids began (None: no such session)."""

    sequence: int
    clock: datetime
    oldest: datetime | None


def read_sequence() -> Reading:
    """PostgreSQL: the sequence reading, then the sessions that may hold ids (in that order). A run that
    reads one snapshot (REPEATABLE READ) takes this BEFORE its snapshot: a session still writing when the
    snapshot was taken but gone by a later look at the activity would otherwise pass for settled, and its
    ids for seen."""
    _run("SELECT pg_stat_clear_snapshot()", [])  # read the activity afresh, not as cached by this transaction
    sequence, clock = _run(
        """SELECT s, clock_timestamp() FROM (
               SELECT COALESCE(pg_sequence_last_value(pg_get_serial_sequence(%s, 'id')::regclass), 0) AS s
               OFFSET 0) x""",
        [T],
    )[0]
    # The sessions that may hold ids still to commit: a transaction that has written (it has an xid; its ids
    # were taken after it began) or a statement running now (an INSERT takes its id before it writes the row,
    # and the transaction gets its xid with the row; its ids were taken after the statement began). Others
    # (idle sessions, read-only transactions, autovacuum) hold none.
    oldest = _run(
        """SELECT MIN(CASE WHEN backend_xid IS NOT NULL THEN xact_start ELSE query_start END) FROM pg_stat_activity
           WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_type = 'client backend'
           AND (backend_xid IS NOT NULL OR backend_xmin IS NOT NULL)""",
        [],
    )[0][0]
    _run("SELECT pg_stat_clear_snapshot()", [])
    return Reading(int(sequence), clock, oldest)


def capture(reading: Reading | None = None) -> tuple[Watermark | None, dict[str, Any]]:
    """The watermark for a run starting now (None: its gaps are unknown) and the stats to record with it
    (``max_transition_id``, ``transition_gaps``, ``id_clock``). Call it before the run reads anything, with
    the ``read_sequence()`` taken before the run's snapshot when the run reads one snapshot."""
    if connection.vendor != "postgresql":
        top = int(_run(f"SELECT COALESCE(MAX(id), 0) FROM {T}", [])[0][0])
        return Watermark(top), {"max_transition_id": top, "transition_gaps": []}
    reading = reading or read_sequence()
    sequence, clock, oldest = reading.sequence, reading.clock, reading.oldest
    top = int(_run(f"SELECT COALESCE(MAX(id), 0) FROM {T}", [])[0][0])
    stats: dict[str, Any] = {
        "max_transition_id": top,
        "transition_gaps": None,
        "id_clock": {"sequence": int(sequence), "at": clock.isoformat()},
    }
    settled = int(sequence) if oldest is None else (_reading_before(oldest) or 0)  # 0: every id is checked
    if top - min(settled, top) > GAP_SCAN_LIMIT:
        return None, stats
    gaps = [
        int(r[0])
        for r in _run(
            f"""SELECT g FROM generate_series(%s::bigint + 1, %s::bigint) g
                EXCEPT SELECT id FROM {T} WHERE id > %s AND id <= %s
                ORDER BY 1 LIMIT %s""",
            [min(settled, top), top, min(settled, top), top, GAP_LIMIT + 1],
        )
    ]
    if len(gaps) > GAP_LIMIT:
        return None, stats
    stats["transition_gaps"] = gaps
    return Watermark(top, gaps), stats


def _reading_before(moment: datetime) -> int | None:
    """The sequence reading of the latest run taken before ``moment`` (None: no such reading). One query."""
    runs = NightlyRun.objects.filter(stats__has_key="id_clock").order_by("-run_date")
    readings = [
        (datetime.fromisoformat(c["at"]), int(c["sequence"]))
        for c in runs.values_list("stats__id_clock", flat=True)[:100]
        if c
    ]
    before = [r for r in readings if r[0] < moment]
    return max(before)[1] if before else None


def from_stats(stats: dict[str, Any]) -> Watermark | None:
    """The watermark a finished run recorded (None: its gaps are unknown, so nothing can build on it)."""
    if "max_transition_id" not in stats:
        return None
    gaps = stats.get("transition_gaps", [])  # runs recorded before the gaps existed: none
    return None if gaps is None else Watermark(int(stats["max_transition_id"]), gaps)


def still_unseen(watermark: Watermark) -> bool:
    """Whether a gap of ``watermark`` has committed since (a run with the same watermark is then not
    current). One query; none without gaps."""
    return bool(watermark.gaps) and StageTransition.objects.filter(pk__in=watermark.gaps).exists()
