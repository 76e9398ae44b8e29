"""A deliberately naive pure-Python recomputation of SPEC §3, for checking the SQL services.

It walks a list of transition records with plain loops and sets; nothing is shared with the SQL code.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

STAGES = ["prep", "contact", "needs", "proposal", "negotiation", "signing"]


@dataclass
class Rec:
    seq: int
    deal: int
    kind: str
    from_stage: str
    to_stage: str
    at: datetime
    owner: int
    team: int


InScope = Callable[[Rec], bool]


def _entries(recs: list[Rec]) -> list[Rec]:
    return [r for r in recs if r.kind in ("create", "forward")]


def entered(recs: list[Rec], in_scope: InScope, start: datetime, cutoff: datetime) -> dict[str, int]:
    out = {}
    for s in STAGES:
        deals = set()
        for r in _entries(recs):
            if r.to_stage == s and start <= r.at < cutoff and in_scope(r):
                deals.add(r.deal)
        out[s] = len(deals)
    return out


def cohort(
    recs: list[Rec], in_scope: InScope, start: datetime, cutoff: datetime, reached_by: datetime
) -> dict[str, int]:
    members = {r.deal for r in _entries(recs) if r.to_stage == "prep" and start <= r.at < cutoff and in_scope(r)}
    out = {}
    for s in STAGES:
        reached = set()
        for d in members:
            for r in _entries(recs):
                if r.deal == d and r.to_stage == s and r.at < reached_by:
                    reached.add(d)
        out[s] = len(reached)
    return out


def median_days(recs: list[Rec], in_scope: InScope, start: datetime, cutoff: datetime) -> dict[str, float]:
    stays: dict[str, list[float]] = {s: [] for s in STAGES}
    for d in sorted({r.deal for r in recs}):
        history = sorted(
            (r for r in recs if r.deal == d and r.kind in ("create", "forward", "backward")),
            key=lambda r: (r.at, r.seq),
        )
        arrived = None
        for r in history:
            # sharpened: a rung left at the instant it was entered (a skipped rung, one below the stage a
            # deal was created at) was passed through, not stayed in — no 0.0-day stay
            passed_through = r.at == arrived
            if r.kind != "create" and arrived is not None and start <= r.at < cutoff and in_scope(r):
                if not passed_through:
                    stays[r.from_stage].append((r.at - arrived).total_seconds() / 86400)
            arrived = r.at
    return {s: round(statistics.median(v), 3) for s, v in stays.items() if v}


def outcome_of_deals(recs: list[Rec], start: datetime, cutoff: datetime) -> dict[int, Rec]:
    """Per deal closed in the period: its last closing or reopening in the period, when that is a closing
    (an entry into signing: won; a lose: lost). Sharpened with the one-rule outcomes: a deal lost, reopened
    and won in one period is won only; lost and reopened (and not closed again) is neither."""
    last: dict[int, Rec] = {}
    for r in sorted(recs, key=lambda r: (r.at, r.seq)):
        closing = r.kind == "lose" or (r.kind in ("create", "forward") and r.to_stage == "signing")
        if start <= r.at < cutoff and (closing or r.kind == "reopen"):
            last[r.deal] = r
    return {d: r for d, r in last.items() if r.kind != "reopen"}


def outcomes(recs: list[Rec], in_scope: InScope, start: datetime, cutoff: datetime) -> tuple[int, int]:
    """(won deals, lost deals) of the period, each deal once, attributed by its deciding transition."""
    decided = [r for r in outcome_of_deals(recs, start, cutoff).values() if in_scope(r)]
    return sum(1 for r in decided if r.kind != "lose"), sum(1 for r in decided if r.kind == "lose")
