"""The team dashboard (the managers' home): funnel, reps × stages attainment, trend, stale deals, tiers.

The page itself (funnel and attainment) stays within 12 queries for any team size; the trend, stale deals
and tier standings load right after it (``hx-trigger="load"``) from ``dashboard_section``, each with its
own small, size-independent query count. Every figure links to ``dashboard_deals``, which lists the deals
behind it, and every table has a CSV export (UTF-8 with a BOM, so Excel opens Chinese text correctly).

Reps have no team dashboard: ``/dashboard/`` sends them to My pipeline.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET

from pipeline.models import Stage
from pipeline.selectors import stage_labels
from salesladder.csv_export import csv_response
from salesladder.http import AuthedRequest
from targets.dashboard import (
    STALE_LISTED,
    TeamDashboard,
    calibration,
    drill_deals,
    team_dashboard,
    team_outcomes,
    team_stale_deals,
    team_tiers,
    team_trend,
)
from targets.periods import Period, org_today
from targets.selectors.funnel import scope_reps
from targets.selectors.outcomes import WIN_RATE_DRIFT_POINTS
from targets.selectors.results import PaceStatus
from targets.selectors.scope import Scope
from targets.views.common import TeamChoice, is_lead, period_options, pick_period, pick_team

STAGES: list[str] = list(Stage.values)
SECTIONS = ("trend", "stale", "tiers", "outcomes", "calibration")
EXPORTS = ("funnel", "attainment", "trend", "stale", "tiers")
PACE_LABELS = {
    PaceStatus.ON_TRACK: gettext_lazy("On track"),
    PaceStatus.BEHIND: gettext_lazy("Behind"),
    PaceStatus.AT_RISK: gettext_lazy("At risk"),
}


def _labels() -> dict[str, str]:
    """Stage labels from the configuration, in the active language (one query)."""
    return stage_labels()


def _pct(value: float | None) -> str:
    return "" if value is None else f"{value * 100:.0f} %"


def _pace_label(status: str | None) -> str:
    return str(PACE_LABELS.get(status, "")) if status else ""


def drill_url(choice: TeamChoice, period: Period, stage: str, *, user: int | None = None, view: str = "") -> str:
    params: dict[str, Any] = {"team": choice.team.pk if choice.team else "", "period": period.key, "stage": stage}
    if user is not None:
        params["user"] = user
    if view == "cohort":
        params["view"] = "cohort"
    return f"{reverse('dashboard_deals')}?{urlencode(params)}"


def _lead_or_redirect(request: AuthedRequest) -> HttpResponse | None:
    if not is_lead(request):
        return redirect("pipeline:board")
    return None


def _base_context(request: HttpRequest, choice: TeamChoice, period: Period, period_error: str) -> dict[str, Any]:
    query = {"team": choice.team.pk if choice.team else "", "period": period.key}
    return {
        "choice": choice,
        "team": choice.team,
        "period": period,
        "period_error": period_error,
        "period_options": period_options(period),
        "previous_period": period.previous(),
        "next_period": period.next(),
        "query": urlencode(query),
    }


def _funnel_rows(data: TeamDashboard, choice: TeamChoice, labels: dict[str, str]) -> list[dict[str, Any]]:
    rows = []
    for f in data.stages:
        rows.append(
            {
                "stage": f.stage,
                "label": labels[f.stage],
                "entered": f.entered,
                "conversion": f.conversion_to_next,
                "cohort_reached": f.cohort_reached,
                "cohort_share": f.cohort_share,
                "quota": f.quota,
                "attainment": f.attainment,
                "url": drill_url(choice, data.period, f.stage),
                "cohort_url": drill_url(choice, data.period, f.stage, view="cohort"),
            }
        )
    return rows


def _heatmap_rows(data: TeamDashboard, choice: TeamChoice) -> list[dict[str, Any]]:
    rows = []
    for rep in data.reps:
        rows.append(
            {
                "user_id": rep.user_id,
                "username": rep.username,
                "cells": [
                    {"row": c, "url": drill_url(choice, data.period, c.stage, user=rep.user_id)} for c in rep.cells
                ],
            }
        )
    return rows


def _chart_data(data: TeamDashboard, labels: dict[str, str]) -> dict[str, Any]:
    def pct(v: float | None) -> float | None:
        return None if v is None else round(v * 100, 1)

    return {
        "stages": [labels[s] for s in STAGES],
        "entered": [f.entered for f in data.stages],
        "quota": [f.quota for f in data.stages],
        "conversion": [pct(f.conversion_to_next) for f in data.stages],
        "cohort": [f.cohort_reached for f in data.stages],
        "cohort_share": [pct(f.cohort_share) for f in data.stages],
        "reps": [r.username for r in data.reps],
        "heatmap": [
            [si, ri, pct(c.attainment)]
            for ri, r in enumerate(data.reps)
            for si, c in enumerate(r.cells)
            if c.attainment is not None
        ],
        "labels": {
            "entered": _("Entered"),
            "quota": _("Quota"),
            "conversion": _("Conversion to next (%)"),
            "cohort": _("Reached (cohort)"),
            "cohort_share": _("Share of cohort (%)"),
            "attainment": _("Attainment (%)"),
        },
    }


@login_required
@require_GET
def dashboard(request: AuthedRequest) -> HttpResponse:
    if (response := _lead_or_redirect(request)) is not None:
        return response
    choice = pick_team(request)
    period, period_error = pick_period(request)
    view = "cohort" if request.GET.get("view") == "cohort" else "flow"
    context = _base_context(request, choice, period, period_error)
    context["view"] = view
    if choice.team is not None:
        labels = _labels()
        data = team_dashboard(team=choice.team, team_ids=choice.team_ids, period=period)
        context.update(
            data=data,
            labels=labels,
            stage_headers=[(s, labels[s]) for s in STAGES],
            funnel_rows=_funnel_rows(data, choice, labels),
            heatmap_rows=_heatmap_rows(data, choice),
            totals=[{"row": c, "url": drill_url(choice, period, c.stage)} for c in data.totals],
            chart=_chart_data(data, labels),
            pace_labels=PACE_LABELS,
        )
    return render(request, "targets/dashboard.html", context, status=400 if period_error else 200)


def _section_context(section: str, choice: TeamChoice, period: Period) -> dict[str, Any]:
    assert choice.team is not None
    labels = _labels()
    context: dict[str, Any] = {"labels": labels, "stage_headers": [(s, labels[s]) for s in STAGES]}
    if section == "trend":
        trend = team_trend(team=choice.team, team_ids=choice.team_ids, period=period)
        context["trend"] = [
            {
                "period": row.period,
                "cells": [
                    {"stage": s, "entered": row.entered[s], "url": drill_url(choice, row.period, s)} for s in STAGES
                ],
            }
            for row in trend
        ]
        context["trend_chart"] = {
            "periods": [row.period.key for row in trend],
            "series": [{"name": labels[s], "data": [row.entered[s] for row in trend]} for s in STAGES],
        }
    elif section == "outcomes":
        context["result"] = team_outcomes(team=choice.team, period=period)
    elif section == "calibration":
        context["win_rates"] = calibration(team=choice.team)
        context["drift_points"] = WIN_RATE_DRIFT_POINTS
    elif section == "stale":
        deals = list(team_stale_deals(team=choice.team)[: STALE_LISTED + 1])
        context["stale_deals"] = deals[:STALE_LISTED]
        context["stale_more"] = len(deals) > STALE_LISTED
        context["now"] = org_today()
    else:
        tiers, rows = team_tiers(team=choice.team, team_ids=choice.team_ids, period=period)
        context["tiers"] = tiers
        context["tier_rows"] = rows
        context["signing_urls"] = {r.user_id: drill_url(choice, period, "signing", user=r.user_id) for r in rows}
        context["measures"] = sorted({t.measure for t in tiers})
    return context


@login_required
@require_GET
def dashboard_section(request: AuthedRequest, section: str) -> HttpResponse:
    """A part of the dashboard loaded after the page: ``trend``, ``stale``, ``tiers``, ``outcomes`` (won,
    lost, win rate, lost reasons, weighted pipeline) or ``calibration`` (observed win rate per rung)."""
    if section not in SECTIONS or not is_lead(request):
        raise Http404
    choice = pick_team(request)
    period, _error = pick_period(request)
    if choice.team is None:
        raise Http404
    context = {**_base_context(request, choice, period, ""), **_section_context(section, choice, period)}
    return render(request, f"targets/_dashboard_{section}.html", context)


# --- CSV export -----------------------------------------------------------------------------------------


def _export_rows(table: str, choice: TeamChoice, period: Period) -> tuple[list[str], list[list[Any]]]:
    assert choice.team is not None
    labels = _labels()
    if table in ("funnel", "attainment"):
        data = team_dashboard(team=choice.team, team_ids=choice.team_ids, period=period)
        if table == "funnel":
            header = [
                _("Stage"),
                _("Entered"),
                _("Conversion to next"),
                _("Reached (cohort)"),
                _("Share of cohort"),
                _("Quota"),
                _("Attainment"),
            ]
            return header, [
                [
                    labels[f.stage],
                    f.entered,
                    _pct(f.conversion_to_next),
                    f.cohort_reached,
                    _pct(f.cohort_share),
                    "" if f.quota is None else f.quota,
                    _pct(f.attainment),
                ]
                for f in data.stages
            ]
        header = [_("Rep"), _("Stage"), _("Entered"), _("Quota"), _("Attainment"), _("Pace")]
        rows = [
            [
                rep.username,
                labels[c.stage],
                c.entered,
                "" if c.quota is None else c.quota,
                _pct(c.attainment),
                _pace_label(c.pace_status),
            ]
            for rep in data.reps
            for c in rep.cells
        ]
        rows += [
            [
                choice.team.name,
                labels[c.stage],
                c.entered,
                "" if c.quota is None else c.quota,
                _pct(c.attainment),
                _pace_label(c.pace_status),
            ]
            for c in data.totals
        ]
        return header, rows
    context = _section_context(table, choice, period)
    if table == "trend":
        header = [_("Period"), *[labels[s] for s in STAGES]]
        return header, [[row["period"].key, *[c["entered"] for c in row["cells"]]] for row in context["trend"]]
    if table == "stale":
        header = [_("Deal"), _("Company"), _("Owner"), _("Stage"), _("Last activity"), _("Amount")]
        return header, [
            [
                d.title,
                d.account.name,
                d.owner.get_username(),
                labels[d.stage],
                timezone.localdate(d.last_activity_at or d.created_at).isoformat(),
                "" if d.amount is None else f"{d.amount}",
            ]
            for d in context["stale_deals"]
        ]
    header = [_("Rep"), _("Signings"), _("Won amount"), _("Tier reached"), _("Next tier"), _("Gap to next")]
    rows = []
    for row in context["tier_rows"]:
        for _measure, standing in row.standings.items() or [("", None)]:
            rows.append(
                [
                    row.username,
                    row.signings,
                    f"{row.won_amount}",
                    standing.reached.name if standing and standing.reached else "",
                    standing.next.name if standing and standing.next else "",
                    "" if not standing or standing.gap is None else f"{standing.gap.normalize():f}",
                ]
            )
    return header, rows


@login_required
@require_GET
def dashboard_export(request: AuthedRequest, table: str) -> HttpResponse:
    if table not in EXPORTS or not is_lead(request):
        raise Http404
    choice = pick_team(request)
    period, _error = pick_period(request)
    if choice.team is None:
        raise Http404
    header, rows = _export_rows(table, choice, period)
    return csv_response(f"{table}-team{choice.team.pk}-{period.key}.csv", header, rows)


# --- drill-down -----------------------------------------------------------------------------------------


def _drill_rep(request: AuthedRequest, choice: TeamChoice) -> tuple[int, str] | None:
    """The rep (id, name) picked by ``?user=`` among the team's reps; 404 for anyone else."""
    user_raw = (request.GET.get("user") or "").strip()
    if not user_raw:
        return None
    if not (user_raw.isascii() and user_raw.isdigit()):
        raise Http404
    reps = dict(scope_reps(Scope.for_team(choice.team), choice.team_ids))  # type: ignore[arg-type]
    if int(user_raw) not in reps:
        raise Http404
    return int(user_raw), reps[int(user_raw)]


@login_required
@require_GET
def dashboard_deals(request: AuthedRequest) -> HttpResponse:
    """The deals behind one dashboard figure: ``?team&period&stage[&user][&view=cohort]``."""
    if not is_lead(request):
        raise Http404
    choice = pick_team(request)
    period, period_error = pick_period(request)
    stage = request.GET.get("stage", "")
    if choice.team is None or stage not in STAGES or period_error:
        raise Http404
    rep = _drill_rep(request, choice)
    deals, outside = drill_deals(
        viewer=request.user,
        stage=stage,
        period=period,
        team_ids=choice.team_ids,
        rep_id=None if rep is None else rep[0],
        cohort=request.GET.get("view") == "cohort",
    )
    labels = _labels()
    if request.GET.get("format") == "csv":
        header = [_("Deal"), _("Company"), _("Owner"), _("Team"), _("Current stage"), _("Status"), _("Amount")]
        rows = [
            [
                d.title,
                d.account.name,
                d.owner.get_username(),
                d.team.name,
                labels[d.stage],
                d.get_status_display(),
                "" if d.amount is None else f"{d.amount}",
            ]
            for d in deals
        ]
        return csv_response(f"deals-{stage}-team{choice.team.pk}-{period.key}.csv", header, rows)
    page = Paginator(deals, 50).get_page(request.GET.get("page"))
    context = {
        **_base_context(request, choice, period, ""),
        "stage": stage,
        "stage_label": labels[stage],
        "labels": labels,
        "rep": rep,
        "cohort": request.GET.get("view") == "cohort" and rep is None,
        "outside": outside,
        "page_obj": page,
        "deals": page.object_list,
        "csv_url": f"{request.path}?{urlencode({**request.GET.dict(), 'format': 'csv'})}",
        "back_url": f"{reverse('dashboard')}?{urlencode({'team': str(choice.team.pk), 'period': period.key})}",
    }
    return render(request, "targets/dashboard_deals.html", context)
