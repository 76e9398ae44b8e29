"""ScopeSnapshot rows of the nightly run (see ``targets.services``): outcomes and lost reasons of each
period (``targets.nightly_outcomes``), and the open-deal figures now — open and stale counts, weighted
pipeline by expected close month — from the open-deal ledger's totals (``targets.nightly_ledger``)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.db.models import Max

from pipeline.models import StageTransition
from targets import nightly_ledger, nightly_outcomes
from targets.models import ScopeSnapshot, ScopeType
from targets.periods import Period
from targets.selectors import nightly_delta, nightly_sql
from targets.selectors.funnel import window


def _money(value: Any) -> Decimal:
    return Decimal(str(value or 0)).quantize(Decimal("0.01"))


def units_text(units: int) -> str:
    """An amount in ledger units (cents × percent) as money text rounded to the cent, half to even — what
    ``str(_money(units / 10_000))`` gives, in integers (a few thousand of them a run)."""
    sign, units = ("-", -units) if units < 0 else ("", units)
    cents, rest = divmod(units, 100)
    if rest > 50 or (rest == 50 and cents % 2):
        cents += 1
    return f"{sign}{cents // 100}.{cents % 100:02d}"


@dataclass
class OpenState:
    """Figures of the open deals now (period-independent): computed once per run."""

    pipeline: dict[tuple[str, int], dict[str, str]]
    opened: dict[tuple[str, int], tuple[int, int]]


def open_state(
    closure: Sequence[tuple[int, int]], *, as_of: date, full: bool, previous: dict[str, Any] | None, since: datetime
) -> tuple[OpenState, dict[str, Any], list[int] | None]:
    """The open deals by scope and expected close month from the ledger's totals (a few thousand rows):
    rebuilt from the open deals on a full run (or without a ledger), else brought up to date with the
    deals changed since the last run. ``since``: from when the next run must read the deals updated (the
    edits this run's snapshot may miss). Returns the figures, this run's ledger mark and the deals changed
    since the previous mark (None when rebuilt)."""
    mark: dict[str, Any] = {
        "as_of": as_of.isoformat(),
        "since": since.isoformat(),
        "max_id": StageTransition.objects.aggregate(m=Max("pk"))["m"] or 0,
    }
    changed: list[int] | None = None
    if full or previous is None or not nightly_ledger.is_complete():
        nightly_ledger.rebuild()
        mark["mode"] = "full"
    else:
        since = datetime.fromisoformat(previous["since"])
        changed = nightly_ledger.apply_changed(since=since, max_id=int(previous["max_id"]))
        mark["mode"] = "incremental"
        mark["changed"] = len(changed)
    pipeline: dict[tuple[str, int], dict[str, str]] = {}
    counts: dict[tuple[str, int], list[int]] = {}
    for st, sid, month, units, n, stale in sorted(nightly_ledger.open_figures(closure)):
        pipeline.setdefault((st, sid), {})[month] = units_text(units)
        c = counts.setdefault((st, sid), [0, 0])
        c[0] += n
        c[1] += stale
    return OpenState(pipeline, {key: (c[0], c[1]) for key, c in counts.items()}), mark, changed


def scope_period(
    *,
    period: Period,
    as_of: date,
    closure: Sequence[tuple[int, int]],
    keys: Callable[[Iterable[int]], list[tuple[str, int]]],
    state: OpenState,
    prev_as_of: date | None,
    changed: list[int] | None,
    hist: nightly_delta.NightHistories | None,
) -> tuple[int, str]:
    """Outcomes and lost reasons of the period (``targets.nightly_outcomes``: from scratch, or the previous
    run's figures + what the deals changed since count now minus then) and the open-deal figures."""
    start, cutoff = window(period, as_of)
    previous: dict[tuple[str, int], tuple[int, Decimal, int, dict[str, int]]] = {}
    if prev_as_of is not None and changed is not None:
        stored = ScopeSnapshot.objects.filter(period=period.key, as_of=prev_as_of).values_list(
            "scope_type", "scope_id", "won_count", "won_amount", "lost_count", "lost_reasons"
        )
        previous = {(st, sid): (won, amount, lost, reasons) for st, sid, won, amount, lost, reasons in stored}
    if previous:
        assert changed is not None
        assert hist is not None
        found = nightly_outcomes.delta(
            closure, period=period.key, start=start, cutoff=cutoff, hist=hist, changed=changed
        )
        outcomes, reasons = _plus(previous, found)
        mode = "incremental"
    else:
        found = nightly_outcomes.full(closure, period=period.key, start=start, cutoff=cutoff)
        outcomes, reasons = found.counts, found.reasons
        mode = "full"
    pipeline, opened = state.pipeline, state.opened
    extra = {sid for (st, sid) in [*outcomes, *opened] if st == ScopeType.USER}
    rows = []
    for key in keys(extra):
        won, won_amount, lost = outcomes.get(key, (0, 0, 0))
        open_count, stale = opened.get(key, (0, 0))
        rows.append(
            {
                "scope_type": key[0],
                "scope_id": key[1],
                "period": period.key,
                "as_of": as_of,
                "won_count": won,
                "won_amount": _money(won_amount),
                "lost_count": lost,
                "open_count": open_count,
                "stale_count": stale,
                "weighted_pipeline": pipeline.get(key, {}),
                "lost_reasons": reasons.get(key, {}),
                "extra": {"win_rate": round(won / (won + lost), 6) if won + lost else None},
            }
        )
    nightly_sql.upsert_rows(
        ScopeSnapshot,
        rows,
        unique_fields=["scope_type", "scope_id", "period", "as_of"],
        update_fields=[
            "won_count",
            "won_amount",
            "lost_count",
            "open_count",
            "stale_count",
            "weighted_pipeline",
            "lost_reasons",
            "extra",
            "computed_at",
        ],
    )
    return len(rows), mode


def _plus(
    previous: dict[tuple[str, int], tuple[int, Decimal, int, dict[str, int]]], found: nightly_outcomes.Outcomes
) -> tuple[dict[tuple[str, int], tuple[int, Decimal, int]], dict[tuple[str, int], dict[str, int]]]:
    """The previous run's outcomes and lost reasons (won, won amount, lost, reasons by key) + the delta:
    exact (counts, amounts in cents)."""
    outcomes = {key: (won, amount, lost) for key, (won, amount, lost, _r) in previous.items()}
    reasons = {key: dict(mix) for key, (*_o, mix) in previous.items()}
    for key, (won, amount, lost) in found.counts.items():
        was = outcomes.get(key, (0, Decimal(0), 0))
        outcomes[key] = (was[0] + won, was[1] + amount, was[2] + lost)
    for key, codes in found.reasons.items():
        mix = reasons.setdefault(key, {})
        for code, n in codes.items():
            mix[code] = mix.get(code, 0) + n
            if not mix[code]:
                del mix[code]
    return outcomes, {key: dict(sorted(mix.items())) for key, mix in reasons.items() if mix}
