"""Exact median days in stage for the nightly snapshots, kept incrementally.

Each forward/backward move stores its stay (``StageTransition.stay_started_at``) and a stay-length
bucket (``stay_bucket``, non-decreasing in the length). A snapshot row keeps the period's exits from its
rung per bucket (``FunnelSnapshot.stay_buckets``). Counts are additive, so a run's histogram = the
previous run's + the exits new to it (± the moves whose stay a move written into the past changed).
Exits from a rung passed through (left at the instant it was entered: a skipped rung, one below the stage
a deal was created at) are no stays and are not counted. The histogram tells in which bucket the middle
stay(s) lie and at which rank; only those buckets' exits
are then read (an index range each) to pick the exact values. The median of an even count is the mean
of the two middle stays, as in ``targets.selectors.sql.median_days``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime

from targets.models import ScopeType
from targets.selectors import nightly_sql
from targets.selectors.scope import ORG_SCOPE_ID

Group = tuple[str, int, str]  # scope type, scope id, stage
Histograms = dict[Group, dict[int, int]]


def _ranks_in_buckets(histogram: Mapping[int, int], ranks: Sequence[int]) -> list[tuple[int, int]]:
    """(bucket, rank within the bucket) of each of the ``ranks``-th shortest stays (1-based, ascending): one
    walk over the sorted buckets."""
    found = []
    wanted = iter(ranks)
    rank = next(wanted, None)
    seen = 0
    for bucket in sorted(histogram):
        count = histogram[bucket]
        while rank is not None and seen + count >= rank:
            found.append((bucket, rank - seen))
            rank = next(wanted, None)
        if rank is None:
            return found
        seen += count
    raise ValueError("rank beyond the histogram")


def medians(
    histograms: Histograms, closure: Sequence[tuple[int, int]], *, start: datetime, cutoff: datetime
) -> dict[Group, float]:
    """``{group: median days}`` of every group with exits. One query for the middle stays of all groups;
    the loop runs over groups and their buckets, never over exits."""
    middles: dict[Group, list[tuple[int, int]]] = {}
    for group, histogram in histograms.items():
        n = sum(histogram.values())
        if n > 0:
            middles[group] = _ranks_in_buckets(histogram, sorted({(n + 1) // 2, (n + 2) // 2}))
    wanted = sorted({(*group, bucket, k) for group, pairs in middles.items() for bucket, k in pairs})
    days = nightly_sql.stays_at_ranks(closure, start=start, cutoff=cutoff, wanted=wanted)
    result = {}
    for group, pairs in middles.items():
        values = [days[(*group, bucket, k)] for bucket, k in pairs]
        result[group] = round(values[0] if len(values) == 1 else (values[0] + values[1]) / 2, 3)
    return result


def plus(
    previous: Histograms,
    new: Histograms,
    rewritten: Iterable[nightly_sql.Rewritten],
    ancestors: Mapping[int, list[int]],
    *,
    start: datetime,
    seen_until: datetime,
) -> Histograms:
    """The previous run's histograms + the exits new to it + the moves it had seen (in its window
    ``[start, seen_until)``) whose stay has since been rewritten: out of the old bucket, into the new.
    ``previous`` (parsed for this run) is added to in place and returned."""
    result = previous
    for group, histogram in new.items():
        target = result.get(group)
        if target is None:
            result[group] = dict(histogram)
            continue
        for bucket, n in histogram.items():
            target[bucket] = target.get(bucket, 0) + n

    def add(group: Group, bucket: int | None, n: int) -> None:
        if bucket is not None:
            histogram = result.setdefault(group, {})
            histogram[bucket] = histogram.get(bucket, 0) + n
            if not histogram[bucket]:  # stored histograms hold no empty buckets
                del histogram[bucket]

    for move in rewritten:  # only moves written into the past make these: a handful, not the night's exits
        for group in _groups_of(move, ancestors, start=start, seen_until=seen_until):
            add(group, move.old_bucket, -1)
            add(group, move.new_bucket, 1)
    return result


def touched(
    new: Histograms,
    rewritten: Iterable[nightly_sql.Rewritten],
    ancestors: Mapping[int, list[int]],
    *,
    start: datetime,
    seen_until: datetime,
) -> set[Group]:
    """The groups whose histogram ``plus`` changes: those with a new exit or a rewritten stay. The others
    keep their histogram and median."""
    groups = set(new)
    for move in rewritten:
        groups.update(_groups_of(move, ancestors, start=start, seen_until=seen_until))
    return groups


def _groups_of(
    move: nightly_sql.Rewritten, ancestors: Mapping[int, list[int]], *, start: datetime, seen_until: datetime
) -> list[Group]:
    """The groups a rewritten move counted in: its rep, its team's ancestors and the org (none when the move
    lies outside the previous run's window ``[start, seen_until)``)."""
    if not start <= move.occurred_at < seen_until:
        return []
    scopes = [(ScopeType.USER.value, move.owner_id), (ScopeType.ORG.value, ORG_SCOPE_ID)]
    scopes += [(ScopeType.TEAM.value, a) for a in ancestors.get(move.team_id, [])]
    return [(scope_type, scope_id, move.stage) for scope_type, scope_id in scopes]
