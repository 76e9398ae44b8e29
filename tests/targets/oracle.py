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
            if r.kind != "create" and arrived is not None and start <= r.at < cutoff and in_scope(r):
                stays[r.from_stage].append((r.at - arrived).total_seconds() / 86400)
            arrived = r.at
    return {s: round(statistics.median(v), 3) for s, v in stays.items() if v}


def outcomes(recs: list[Rec], in_scope: InScope, start: datetime, cutoff: datetime) -> tuple[int, int]:
    won, lost = set(), set()
    for r in recs:
        if not (start <= r.at < cutoff and in_scope(r)):
            continue
        if r.kind in ("create", "forward") and r.to_stage == "signing":
            won.add(r.deal)
        if r.kind == "lose":
            lost.add(r.deal)
    return len(won), len(lost)
