"""Targets: the quota editor (reps × stages of a team and period) and the ladder planner.

Managers edit their own teams (sub-teams included), admins every team; a team outside that is a 404, and
so is the page for reps (their quotas show on their board and reviews). Saving the grid is one call to
``quotas_set_grid``: every cell is validated first and one bad cell writes nothing; its error is shown
next to the cell. Copying the previous period asks for a confirmation first.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_http_methods

from pipeline.models import Stage
from salesladder.errors import DomainError
from salesladder.http import AuthedRequest, flash_domain_errors
from targets.models import QuotaTemplate
from targets.periods import Period
from targets.planner import MAX_SIGNINGS, plan
from targets.quota_selectors import quota_grid
from targets.quota_services import quotas_copy_from_previous, quotas_set_grid, template_apply, template_check
from targets.selectors.scope import Scope
from targets.views.common import TeamChoice, is_lead, period_options, pick_period, pick_team
from targets.views.dashboard import _labels

STAGES: list[str] = list(Stage.values)


def _require_lead(request: AuthedRequest) -> None:
    if not is_lead(request):
        raise Http404


def _page_url(choice: TeamChoice, period: Period) -> str:
    return f"{reverse('targets')}?{urlencode({'team': choice.team.pk if choice.team else '', 'period': period.key})}"


def _grid_rows(choice: TeamChoice, period: Period, posted: dict[str, str] | None, errors: dict[str, list[str]]):
    assert choice.team is not None
    rows = []
    for row in quota_grid(team=choice.team, period=period):
        cells = []
        for s in STAGES:
            name = f"q-{row.user.pk}-{s}"
            value: Any = posted.get(name, "") if posted is not None else row.quotas[s]
            cells.append(
                {
                    "name": name,
                    "stage": s,
                    "value": "" if value is None else value,
                    "errors": errors.get(f"{row.user.pk}.{s}", []),
                }
            )
        rows.append({"user": row.user, "cells": cells, "errors": errors.get(str(row.user.pk), [])})
    return rows


def _context(
    request: AuthedRequest,
    choice: TeamChoice,
    period: Period,
    period_error: str = "",
    posted: dict[str, str] | None = None,
    errors: dict[str, list[str]] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    labels = _labels()
    context: dict[str, Any] = {
        "choice": choice,
        "team": choice.team,
        "period": period,
        "period_error": period_error,
        "period_options": period_options(period),
        "previous_period": period.previous(),
        "next_period": period.next(),
        "stage_headers": [(s, labels[s]) for s in STAGES],
        "labels": labels,
        "max_signings": MAX_SIGNINGS,
        **extra,
    }
    if choice.team is not None:
        rows = _grid_rows(choice, period, posted, errors or {})
        totals = []
        for i, _s in enumerate(STAGES):
            values = [r["cells"][i]["value"] for r in rows]
            totals.append(sum(int(v) for v in values if str(v).isascii() and str(v).isdigit()))
        context.update(
            rows=rows,
            totals=totals,
            grid_errors=bool(errors),
            templates=list(QuotaTemplate.objects.filter(period_kind=period.kind).order_by("-is_default", "name")),
            page_url="?" + urlencode({"team": str(choice.team.pk), "period": period.key}),
        )
    return context


def _posted_grid(request: AuthedRequest, choice: TeamChoice) -> tuple[dict[int, dict[str, Any]], dict[str, str]]:
    posted = {k: v for k, v in request.POST.dict().items() if k.startswith("q-")}
    grid: dict[int, dict[str, Any]] = {}
    for key, value in posted.items():
        _q, uid, stage = key.split("-", 2) if key.count("-") >= 2 else ("", "", "")
        if not (uid.isascii() and uid.isdigit()):
            continue
        value = value.strip()
        grid.setdefault(int(uid), {})[stage] = value if value else None
    return grid, posted


@login_required
@require_http_methods(["GET", "POST"])
def targets_page(request: AuthedRequest) -> HttpResponse:
    _require_lead(request)
    choice = pick_team(request)
    period, period_error = pick_period(request)
    if request.method == "GET" or choice.team is None:
        return render(request, "targets/targets.html", _context(request, choice, period, period_error))
    if period_error:
        return render(request, "targets/targets.html", _context(request, choice, period, period_error), status=400)
    action = request.POST.get("action")
    team = choice.team
    try:
        if action == "save":
            grid, posted = _posted_grid(request, choice)
            try:
                quotas_set_grid(period=period, team=team, grid=grid, actor=request.user)
            except DomainError as exc:
                messages.error(request, _("Nothing was saved: correct the highlighted cells."))
                context = _context(request, choice, period, posted=posted, errors=exc.errors)
                return render(request, "targets/targets.html", context, status=400)
            messages.success(request, _("Quotas for %(period)s saved.") % {"period": period.key})
        elif action == "apply":
            raw = request.POST.get("template", "")
            template = QuotaTemplate.objects.filter(pk=int(raw)).first() if raw.isascii() and raw.isdigit() else None
            if template is None:
                raise DomainError({"template": [_("Choose a template.")]})
            template_check(period=period, template=template)
            if request.POST.get("confirm") != "yes":  # it replaces every rep's quotas: ask first
                context = _context(request, choice, period, confirm_apply=template)
                return render(request, "targets/targets.html", context)
            reps = template_apply(period=period, team=team, template=template, actor=request.user)
            messages.success(
                request,
                ngettext(
                    "Template “%(name)s” applied to %(n)d rep for %(period)s.",
                    "Template “%(name)s” applied to %(n)d reps for %(period)s.",
                    len(reps),
                )
                % {"name": template.name, "n": len(reps), "period": period.key},
            )
        elif action == "copy":
            if request.POST.get("confirm") != "yes":
                context = _context(request, choice, period, confirm_copy=True)
                return render(request, "targets/targets.html", context)
            n = quotas_copy_from_previous(period=period, team=team, actor=request.user)
            messages.success(
                request,
                ngettext("%(n)d quota copied from %(previous)s.", "%(n)d quotas copied from %(previous)s.", n)
                % {"n": n, "previous": period.previous().key},
            )
        else:
            raise DomainError({"action": [_("Unknown action.")]})
    except DomainError as exc:
        flash_domain_errors(request, exc)
        return render(request, "targets/targets.html", _context(request, choice, period), status=400)
    return redirect(_page_url(choice, period))


@login_required
@require_http_methods(["GET"])
def planner(request: AuthedRequest) -> HttpResponse:
    """``?team&period&signings[&user]``: entries each rung needs for a signing goal (htmx partial or page)."""
    _require_lead(request)
    choice = pick_team(request)
    period, period_error = pick_period(request)
    if choice.team is None:
        raise Http404
    labels = _labels()
    context: dict[str, Any] = {"labels": labels, "team": choice.team, "period": period, "plan_errors": {}}
    raw = (request.GET.get("signings") or "").strip()
    user_raw = (request.GET.get("user") or "").strip()
    scope = Scope.for_team(choice.team)
    if user_raw:
        rep = next((r.user for r in quota_grid(team=choice.team, period=period) if str(r.user.pk) == user_raw), None)
        if rep is None:
            raise Http404
        scope = Scope.for_user(rep)
    status = 200
    if period_error:
        context["plan_errors"] = {"period": [period_error]}
        status = 400
    elif not (raw.isascii() and raw.isdigit()):
        context["plan_errors"] = {
            "signings": [_("Enter a whole number between 0 and %(max)s.") % {"max": MAX_SIGNINGS}]
        }
        status = 400
    else:
        try:
            result = plan(scope=scope, signings=int(raw), period=period)
        except DomainError as exc:
            context["plan_errors"] = exc.errors
            status = 400
        else:
            context["plan"] = result
            context["plan_rows"] = [
                {
                    "stage": s,
                    "label": labels[s],
                    "needed": result.needs[s],
                    "quota": result.quota.get(s),
                    "rate": next((r for r in result.rates if r.stage == s), None),
                }
                for s in STAGES
            ]
    if request.htmx:
        return render(request, "targets/_planner_result.html", context, status=status)
    extra = {k: v for k, v in context.items() if k not in ("labels", "team", "period")}
    page = _context(request, choice, period, period_error, **extra)
    return render(request, "targets/targets.html", page, status=status)
