"""The signature of what no delta of new transitions sees: the team tree (which transitions a team counts),
the stages' probabilities (every open deal's pipeline value) and the deleted-deals counter (a deleted deal
takes its history with it). A nightly run records it; an incremental run, or a live figure built on a
run's snapshot, needs the same one, otherwise it computes from scratch."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence

from pipeline.models import StageConfig
from salesladder.org.models import Team
from targets.models import NightlyInvalidation
from targets.selectors.sql import _run

DELETED_DEALS = "deleted_deals"  # the NightlyInvalidation key of the deleted-deals counter


def closure_of(parent: Mapping[int, int | None]) -> list[tuple[int, int]]:
    """``[(team, ancestor-or-self)]`` for every team of ``{team: parent}``."""
    pairs = []
    for team in parent:
        node: int | None = team
        seen: set[int] = set()
        while node is not None and node not in seen:
            seen.add(node)
            pairs.append((team, node))
            node = parent.get(node)
    return pairs


def tree_signature(closure: Iterable[tuple[int, int]]) -> str:
    """The team tree counted with (the version tag: rows of older code have no stay histograms or keep
    them in the former JSON object column, count the rungs passed through as stays, or lack the rows of
    owners with exits but no entry in a period)."""
    text = "stays-v4" + repr(sorted(closure))
    return hashlib.sha1(text.encode(), usedforsecurity=False).hexdigest()[:16]


def signature(closure: Iterable[tuple[int, int]], probabilities: Sequence[tuple[str, int]], deletions: int) -> str:
    """(the version tag ledger-v2: outcomes by each deal's deciding closing, so rows of older code are not
    built on)"""
    text = f"{tree_signature(closure)}|ledger-v2|{sorted(probabilities)}|{deletions}"
    return hashlib.sha1(text.encode(), usedforsecurity=False).hexdigest()[:16]


def current_signature() -> str:
    """The signature now, as ``targets.services.run_signature`` computes it for a run. One query."""
    sql = f"""
        SELECT 't', id, parent_id, NULL FROM {Team._meta.db_table}
        UNION ALL SELECT 'p', NULL, probability, stage FROM {StageConfig._meta.db_table}
        UNION ALL SELECT 'd', NULL, version, NULL FROM {NightlyInvalidation._meta.db_table} WHERE key = %s"""
    parent: dict[int, int | None] = {}
    probabilities: list[tuple[str, int]] = []
    deletions = 0
    for kind, pk, value, stage in _run(sql, [DELETED_DEALS]):
        if kind == "t":
            parent[int(pk)] = None if value is None else int(value)
        elif kind == "p":
            probabilities.append((stage, int(value)))
        else:
            deletions = int(value or 0)
    return signature(closure_of(parent), probabilities, deletions)
