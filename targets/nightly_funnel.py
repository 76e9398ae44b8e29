"""FunnelSnapshot rows of one period as the nightly run writes them (see ``targets.services``).

Incremental (a previous run's rows of the period exist): entered and cohort counts and the stay
histograms = the previous rows + what is new (one delta query each, for every scope); a row's histogram
and median are recomputed only when one of its exits is new or had its stay rewritten
(``targets.nightly_medians``), the others are kept. The previous rows are read as plain values, and a
kept histogram is copied from the previous row in the database on PostgreSQL (elsewhere written back as
the JSON text it was read as): no parsing, no model instances — a period holds ~1,400 rows with ~100
buckets each.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

import orjson
from django.db import connection
from django.utils import timezone

from targets import nightly_medians
from targets.models import FunnelSnapshot, ScopeType
from targets.periods import Period
from targets.selectors import nightly_delta, nightly_sql
from targets.selectors.funnel import STAGES, end_of_day, window
from targets.selectors.sql import _run

Key = tuple[str, int, str]  # scope type, scope id, stage
UNIQUE = ["scope_type", "scope_id", "period", "as_of", "stage"]
UPDATED = ["entered", "cohort_reached", "quota", "median_days_in_stage", "stay_buckets", "computed_at"]


@dataclass
class Previous:
    entered: int
    cohort_reached: int
    median: float | None
    histogram: str  # as stored (``FunnelSnapshot.stay_buckets``)


def previous_rows(period: Period, as_of: date, *, histograms: bool = True) -> dict[Key, Previous]:
    """The rows of ``period`` stored as of ``as_of``: one query, plain values; without ``histograms`` their
    stay histograms are not read (``""``: PostgreSQL copies kept ones in the database)."""
    table = FunnelSnapshot._meta.db_table
    histogram = "stay_buckets" if histograms else "NULL"
    sql = f"""SELECT scope_type, scope_id, stage, entered, cohort_reached, median_days_in_stage, {histogram}
              FROM {table} WHERE period = %s AND as_of = %s"""
    rows = _run(sql, [period.key, connection.ops.adapt_datefield_value(as_of)])
    return {(st, int(sid), stage): Previous(e, c, m, h or "") for st, sid, stage, e, c, m, h in rows}


def buckets_text(histogram: Mapping[int, int]) -> str:
    """A histogram as stored: a flat JSON array ``[bucket, exits, bucket, exits, …]`` in bucket order, ``""``
    when empty (text: PostgreSQL stores it as is, where a JSON object's ~100 numbers each cost a parse)."""
    if not histogram:
        return ""
    buckets = sorted(histogram)
    flat = buckets + buckets  # (the right length; filled by two slice assignments, in C)
    flat[::2] = buckets
    flat[1::2] = map(histogram.__getitem__, buckets)
    return orjson.dumps(flat).decode()


def buckets_of(text: str) -> dict[int, int]:
    """``{bucket: exits}`` of a stored histogram (one C-level parse of a flat array)."""
    flat = orjson.loads(text) if text else []
    return dict(zip(flat[::2], flat[1::2], strict=True))


def _histograms(previous: Mapping[Key, Previous], keys: Iterable[Key]) -> nightly_medians.Histograms:
    """The stored histograms of ``keys`` (those with a row), parsed: ``{bucket: exits}``."""
    return {key: buckets_of(p.histogram) for key in keys if (p := previous.get(key)) is not None}


def funnel_period(
    *,
    period: Period,
    as_of: date,
    closure: list[tuple[int, int]],
    ancestors: Mapping[int, list[int]],
    keys: Callable[[Iterable[int]], list[tuple[str, int]]],
    quotas: Mapping[Key, int],
    prev: tuple[date, int] | None,
    filled: nightly_sql.Filled,
    hist: nightly_delta.NightHistories | None = None,
) -> tuple[int, str]:
    """Upsert the rows of one period as of the end of ``as_of`` for the scopes ``keys(extra reps)``;
    ``prev`` = (as-of day, transition watermark) of the run to build on, ``hist`` the night's histories
    since it (needed with ``prev``). Returns (rows, mode)."""
    start, cutoff = window(period, as_of)
    reached_by = end_of_day(as_of)
    fresh = False  # an exit of the period new to the previous run, or a stay it counted rewritten since
    if prev:
        prev_cutoff = end_of_day(prev[0])
        since: dict[str, Any] = {"max_id": prev[1], "prev_cutoff": prev_cutoff}
        rewritten = bool(filled.count and filled.low and filled.high and filled.low < cutoff and filled.high >= start)
        fresh = rewritten or nightly_sql.exits_fresh(start=start, cutoff=cutoff, **since)
    # kept histograms are copied in the database on PostgreSQL: not read here
    with_histograms = fresh or connection.vendor != "postgresql"
    previous = previous_rows(period, prev[0], histograms=with_histograms) if prev else {}
    histograms: nightly_medians.Histograms = {}
    touched: set[Key] | None = None  # the rows whose histogram and median are recomputed (None: all)
    if previous:
        assert prev is not None
        assert hist is not None
        entered = nightly_delta.entered_delta_all(closure, hist=hist, start=start, cutoff=cutoff)
        cohort = nightly_delta.cohort_delta_all(closure, hist=hist, start=start, cutoff=cutoff, reached_by=reached_by)
        touched = set()
        if fresh:
            new = nightly_sql.stay_histograms(closure, start=start, cutoff=cutoff, new_since=(prev[1], prev_cutoff))
            seen = {"start": start, "seen_until": min(prev_cutoff, cutoff)}
            touched = nightly_medians.touched(new, filled.seen, ancestors, **seen)
            histograms = nightly_medians.plus(_histograms(previous, touched), new, filled.seen, ancestors, **seen)
        median = {k: p.median for k, p in previous.items() if p.median is not None and k not in touched}
        if touched:
            median.update(nightly_medians.medians(histograms, closure, start=start, cutoff=cutoff))
            mode = "incremental"
        else:
            mode = "incremental" if entered or cohort else "unchanged"
    else:
        entered = nightly_sql.entered_all(closure, start=start, cutoff=cutoff)
        cohort = nightly_sql.cohort_all(closure, start=start, cutoff=cutoff, reached_by=reached_by)
        histograms = nightly_sql.stay_histograms(closure, start=start, cutoff=cutoff)
        median = nightly_medians.medians(histograms, closure, start=start, cutoff=cutoff)
        mode = "full"
    # owners with a row: reps, plus anyone with an entry, an exit (a manager moving a deal back) or a row
    extra_users = {sid for (st, sid, _s) in [*entered, *previous, *histograms] if st == ScopeType.USER}
    rows = []
    for scope_type, scope_id in keys(extra_users):
        for stage in STAGES:
            key = (scope_type, scope_id, stage)
            old = previous.get(key)
            if touched is not None and key not in touched:  # kept as stored
                histogram: str = _Raw(old.histogram if old else "")
            else:
                histogram = buckets_text(histograms.get(key, {}))
            rows.append(
                {
                    "scope_type": scope_type,
                    "scope_id": scope_id,
                    "stage": stage,
                    "entered": (old.entered if old else 0) + entered.get(key, 0),
                    "cohort_reached": (old.cohort_reached if old else 0) + cohort.get(key, 0),
                    "quota": quotas.get(key),
                    "median_days_in_stage": median.get(key),
                    "stay_buckets": histogram,
                }
            )
    _write(rows, period=period.key, as_of=as_of, kept_from=prev[0] if touched is not None and prev else None)
    return len(rows), mode


class _Raw(str):
    """A histogram kept as stored (PostgreSQL copies it from the previous row itself)."""


def _write(rows: list[dict[str, Any]], *, period: str, as_of: date, kept_from: date | None) -> None:
    """Upsert the rows: on PostgreSQL one statement with the rows as one JSON document (orjson); histograms
    kept from the rows as of ``kept_from`` are copied from them in the database, not sent. Elsewhere
    ``bulk_create``."""
    if connection.vendor != "postgresql":
        plain = [{**r, "period": period, "as_of": as_of, "stay_buckets": str(r["stay_buckets"])} for r in rows]
        nightly_sql.upsert_rows(FunnelSnapshot, plain, unique_fields=UNIQUE, update_fields=UPDATED)
        return
    now = timezone.now().isoformat()
    day = as_of.isoformat()
    payload = orjson.dumps(
        [
            {
                **r,
                "period": period,
                "as_of": day,
                "computed_at": now,
                "stay_buckets": None if isinstance(r["stay_buckets"], _Raw) else r["stay_buckets"],
            }
            for r in rows
        ]
    ).decode()
    if kept_from is None:
        nightly_sql.upsert_json(FunnelSnapshot, payload, unique_fields=UNIQUE, update_fields=UPDATED)
        return
    table = FunnelSnapshot._meta.db_table
    nightly_sql.upsert_json(
        FunnelSnapshot,
        payload,
        unique_fields=UNIQUE,
        update_fields=UPDATED,
        computed={"stay_buckets": "COALESCE(r.stay_buckets, p.stay_buckets, '')"},
        join=f"""LEFT JOIN {table} p ON p.period = r.period AND p.as_of = %s AND p.scope_type = r.scope_type
                 AND p.scope_id = r.scope_id AND p.stage = r.stage""",
        join_params=[kept_from],
    )
