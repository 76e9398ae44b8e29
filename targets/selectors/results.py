"""Plain result objects of the computation services (the API serialises them as they are)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any

from targets.periods import Period
from targets.selectors.scope import Scope

# Pace = attainment / elapsed share of the period.
PACE_ON_TRACK = 1.0  # at or ahead of a straight line to the quota
PACE_BEHIND = 0.8  # below on-track but within 20 %; under this: at risk


class PaceStatus:
    ON_TRACK = "on_track"
    BEHIND = "behind"
    AT_RISK = "at_risk"


def ratio(numerator: int | float | None, denominator: int | float | None) -> float | None:
    if numerator is None or not denominator:
        return None
    return numerator / denominator


def pace_status(pace: float | None) -> str | None:
    if pace is None:
        return None
    if pace >= PACE_ON_TRACK:
        return PaceStatus.ON_TRACK
    if pace >= PACE_BEHIND:
        return PaceStatus.BEHIND
    return PaceStatus.AT_RISK


@dataclass(frozen=True)
class StageFigures:
    stage: str
    entered: int
    conversion_to_next: float | None
    cohort_reached: int
    cohort_share: float | None
    quota: int | None
    attainment: float | None
    median_days_in_stage: float | None


@dataclass(frozen=True)
class FunnelResult:
    scope: Scope
    period: Period
    as_of: date
    stages: list[StageFigures]
    overall_conversion: float | None
    cohort_size: int
    source: str = "live"  # or "snapshot"
    # Live figures start from last night's snapshot plus everything since; medians (not additive) are
    # then last night's: this says from which day (None: computed now).
    medians_as_of: date | None = None

    def stage(self, code: str) -> StageFigures:
        return next(s for s in self.stages if s.stage == code)

    def as_dict(self) -> dict[str, Any]:
        return {
            "period": self.period.key,
            "scope": self.scope.as_dict(),
            "as_of": self.as_of.isoformat(),
            "source": self.source,
            "stages": [asdict(s) for s in self.stages],
            "overall_conversion": self.overall_conversion,
            "cohort_size": self.cohort_size,
            "medians_as_of": self.medians_as_of.isoformat() if self.medians_as_of else None,
        }


@dataclass(frozen=True)
class AttainmentRow:
    user: int | None  # None on the scope's total rows
    user_label: str
    stage: str
    quota: int | None
    entered: int
    attainment: float | None
    pace: float | None
    pace_status: str | None


@dataclass(frozen=True)
class AttainmentResult:
    scope: Scope
    period: Period
    as_of: date
    elapsed_share: float
    rows: list[AttainmentRow]
    totals: list[AttainmentRow] = field(default_factory=list)
    source: str = "live"

    def row(self, user_id: int | None, stage: str) -> AttainmentRow:
        rows = self.totals if user_id is None else self.rows
        return next(r for r in rows if r.user == user_id and r.stage == stage)

    def as_dict(self) -> dict[str, Any]:
        return {
            "period": self.period.key,
            "scope": self.scope.as_dict(),
            "as_of": self.as_of.isoformat(),
            "source": self.source,
            "elapsed_share": self.elapsed_share,
            "rows": [asdict(r) for r in self.rows],
            "totals": [asdict(r) for r in self.totals],
        }


def attainment_row(
    *, user: int | None, label: str, stage: str, quota: int | None, entered: int, elapsed: float
) -> AttainmentRow:
    att = ratio(entered, quota)
    pace = ratio(att, elapsed)
    return AttainmentRow(user, label, stage, quota, entered, att, pace, pace_status(pace))


def build_stages(
    *,
    entered: dict[str, int],
    cohort: dict[str, int],
    quota: dict[str, int],
    median: dict[str, float],
    stages: list[str],
) -> tuple[list[StageFigures], float | None, int]:
    cohort_size = cohort.get(stages[0], 0)
    figures = []
    for i, s in enumerate(stages):
        n = entered.get(s, 0)
        nxt = entered.get(stages[i + 1], 0) if i + 1 < len(stages) else None
        q = quota.get(s)
        figures.append(
            StageFigures(
                stage=s,
                entered=n,
                conversion_to_next=ratio(nxt, n),
                cohort_reached=cohort.get(s, 0),
                cohort_share=ratio(cohort.get(s, 0), cohort_size),
                quota=q,
                attainment=ratio(n, q),
                median_days_in_stage=median.get(s),
            )
        )
    overall = ratio(entered.get(stages[-1], 0), entered.get(stages[0], 0))
    return figures, overall, cohort_size
