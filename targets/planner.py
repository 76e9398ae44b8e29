"""The ladder planner: from a signing goal, back-plan the entries every upstream rung needs.

Rates are the scope's flow conversions (SPEC §3) over the ``periods_back`` complete periods before the
planned one, counted in one aggregate over the whole window (distinct deals per rung). A rung without
history (nothing entered, or nothing converted) falls back to the default template's ratio, with a
warning. The needs are exact: ``needed(s) = ceil(needed(s+1) / rate(s))`` in rational arithmetic, so
6 signings at 50/40/50/50/60 % need 10, 20, 40, 100 and 200 prospects, never 201 from rounding noise.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from django.utils.translation import gettext_lazy as _

from pipeline.models import Stage
from salesladder.errors import DomainError
from targets.models import ScopeType
from targets.periods import Period
from targets.quota_selectors import STAGES, LadderFlag, default_ladder, ladder_consistency, quota_for
from targets.selectors import sql
from targets.selectors.scope import Scope

MAX_SIGNINGS = 100_000
MAX_PERIODS_BACK = 24
FALLBACK_RATES = {"prep": Fraction(1, 2), "contact": Fraction(2, 5), "needs": Fraction(1, 2)}


@dataclass(frozen=True)
class Rate:
    stage: str
    next_stage: str
    entered: int
    entered_next: int
    rate: Fraction
    source: str  # "observed" | "default"


@dataclass(frozen=True)
class PlanWarning:
    code: str  # no_history | no_data | zero_rate | rate_capped | ladder
    message: str
    stage: str | None = None


@dataclass
class Plan:
    scope: Scope
    period: Period
    signings: int
    periods_back: int
    history: list[Period]
    rates: list[Rate]
    needs: dict[str, int]
    quota: dict[str, int]
    ladder_flags: list[LadderFlag] = field(default_factory=list)
    warnings: list[PlanWarning] = field(default_factory=list)

    @property
    def overall_rate(self) -> Fraction:
        product = Fraction(1)
        for r in self.rates:
            product *= r.rate
        return product


def default_rates() -> dict[str, Fraction]:
    """Conversions implied by the default template (100/50/20/10/5/3 → 50/40/50/50/60 %)."""
    ladder = default_ladder()
    rates: dict[str, Fraction] = {}
    for s, nxt in zip(STAGES, STAGES[1:], strict=False):
        a, b = ladder.get(s), ladder.get(nxt)
        if a and b and b <= a:
            rates[s] = Fraction(b, a)
        else:
            rates[s] = FALLBACK_RATES.get(s, Fraction(1, 2))
    return rates


def _grouping(scope: Scope) -> sql.Grouping:
    if scope.type == ScopeType.USER:
        return sql.group_users([scope.id])
    if scope.type == ScopeType.TEAM:
        return sql.group_team(scope.id, scope.team_ids())
    return sql.group_org()


def trailing_entered(*, scope: Scope, history: list[Period]) -> dict[str, int]:
    """entered(s) of the scope over the window covering ``history`` (distinct deals per rung, one query)."""
    start, _end = history[0].bounds()
    _start, cutoff = history[-1].bounds()
    counts = sql.entered_counts(_grouping(scope), start=start, cutoff=cutoff)
    return {stage: n for (_sid, stage), n in counts.items()}


def rates_from_entered(entered: dict[str, int], defaults: dict[str, Fraction]) -> dict[str, Fraction]:
    """Flow conversion per rung from entered counts; the default where a rung has no usable history."""
    rates = {}
    for s, nxt in zip(STAGES, STAGES[1:], strict=False):
        a, b = entered.get(s, 0), entered.get(nxt, 0)
        rates[s] = min(Fraction(b, a), Fraction(1)) if a and b else defaults[s]
    return rates


def ladder_flags_by_rep(
    *, quotas: dict[int, dict[str, int | None]], period: Period, periods_back: int = 3
) -> dict[int, list[LadderFlag]]:
    """Ladder checks of many reps' quotas for ``period`` at each rep's own trailing rates. One query."""
    if not quotas:
        return {}
    history = period.previous().last(periods_back)
    start, _end = history[0].bounds()
    _start, cutoff = history[-1].bounds()
    counts = sql.entered_counts(sql.group_users(list(quotas)), start=start, cutoff=cutoff)
    entered: dict[int, dict[str, int]] = {}
    for (uid, stage), n in counts.items():
        entered.setdefault(uid, {})[stage] = n
    defaults = default_rates()
    return {
        uid: ladder_consistency(cells, rates_from_entered(entered.get(uid, {}), defaults))
        for uid, cells in quotas.items()
    }


def _pct(rate: Fraction) -> str:
    value = float(rate) * 100
    return f"{value:.0f}" if value.is_integer() else f"{value:.1f}"


def plan(*, scope: Scope, signings: int, periods_back: int = 3, period: Period | None = None) -> Plan:
    """Back-plan ``signings`` for ``scope`` in ``period`` (default: the current month)."""
    if isinstance(signings, bool) or not isinstance(signings, int) or not 0 <= signings <= MAX_SIGNINGS:
        raise DomainError({"signings": [_("Enter a whole number between 0 and %(max)s.") % {"max": MAX_SIGNINGS}]})
    if isinstance(periods_back, bool) or not isinstance(periods_back, int) or not 1 <= periods_back <= MAX_PERIODS_BACK:
        raise DomainError(
            {"periods_back": [_("Enter a whole number between 1 and %(max)s.") % {"max": MAX_PERIODS_BACK}]}
        )
    period = period or Period.current()
    history = period.previous().last(periods_back)
    entered = trailing_entered(scope=scope, history=history)
    defaults = default_rates()
    warnings: list[PlanWarning] = []
    has_history = any(entered.values())
    if not has_history:
        warnings.append(
            PlanWarning(
                "no_history",
                str(
                    _("No deals climbed the ladder in %(first)s–%(last)s; the default template's rates are used.")
                    % {"first": history[0].key, "last": history[-1].key}
                ),
            )
        )
    rates: list[Rate] = []
    for s, nxt in zip(STAGES, STAGES[1:], strict=False):
        a, b = entered.get(s, 0), entered.get(nxt, 0)
        labels = {"stage": Stage(s).label, "next": Stage(nxt).label, "rate": _pct(defaults[s])}
        if a and b:
            rate, source = Fraction(b, a), "observed"
            if rate > 1:
                warnings.append(
                    PlanWarning(
                        "rate_capped",
                        str(_("More deals entered %(next)s than %(stage)s; the rate is taken as 100 %%.") % labels),
                        s,
                    )
                )
                rate = Fraction(1)
        else:
            rate, source = defaults[s], "default"
            if has_history and a:
                warnings.append(
                    PlanWarning(
                        "zero_rate",
                        str(
                            _("No deal went from %(stage)s to %(next)s (0 %%); the default %(rate)s %% is used.")
                            % labels
                        ),
                        s,
                    )
                )
            elif has_history:
                warnings.append(
                    PlanWarning(
                        "no_data",
                        str(_("No deal entered %(stage)s; the default %(rate)s %% to %(next)s is used.") % labels),
                        s,
                    )
                )
        rates.append(Rate(s, nxt, a, b, rate, source))

    needs = {STAGES[-1]: signings}
    for r in reversed(rates):
        needs[r.stage] = math.ceil(Fraction(needs[r.next_stage]) / r.rate)
    needs = {s: needs[s] for s in STAGES}

    quota = quota_for(scope=scope, period=period)
    flags = ladder_consistency(quota, {r.stage: r.rate for r in rates})
    warnings.extend(PlanWarning("ladder", f.message, f.stage) for f in flags)
    return Plan(
        scope=scope,
        period=period,
        signings=signings,
        periods_back=periods_back,
        history=history,
        rates=rates,
        needs=needs,
        quota=quota,
        ladder_flags=flags,
        warnings=warnings,
    )


def plan_as_dict(p: Plan) -> dict[str, Any]:
    """The API shape of a plan."""
    return {
        "period": p.period.key,
        "scope": p.scope.as_dict(),
        "signings": p.signings,
        "periods_back": p.periods_back,
        "history": [h.key for h in p.history],
        "rates": [
            {
                "stage": r.stage,
                "next_stage": r.next_stage,
                "entered": r.entered,
                "entered_next": r.entered_next,
                "rate": round(float(r.rate), 4),
                "source": r.source,
            }
            for r in p.rates
        ],
        "overall_rate": round(float(p.overall_rate), 6),
        "needs": [{"stage": s, "needed": n, "quota": p.quota.get(s)} for s, n in p.needs.items()],
        "ladder_flags": [
            {
                "code": f.code,
                "stage": f.stage,
                "next_stage": f.next_stage,
                "quota": f.quota,
                "next_quota": f.next_quota,
                "max_next": f.max_next,
                "message": f.message,
            }
            for f in p.ladder_flags
        ],
        "warnings": [{"code": w.code, "stage": w.stage, "message": w.message} for w in p.warnings],
    }
