"""Deal pages: the list, the deal page (edit, activities, history, lose/reopen)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Case, F, IntegerField, Value, When
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from pipeline.filtersets import DealFilterSet
from pipeline.forms import ActivityForm, DealForm, LoseForm, add_domain_errors
from pipeline.models import STAGE_POSITION, ActivityKind, Deal, DealStatus, Stage, StageTransition
from pipeline.selectors import (
    activities_visible_to,
    deals_visible_to,
    stage_labels,
)
from pipeline.services import activity_complete, activity_log, deal_lose, deal_reopen, deal_update
from pipeline.views.common import can_pick_owner, visible_deal_or_404, wants_partial
from salesladder.errors import DomainError
from salesladder.http import AuthedRequest, flash_domain_errors

DEALS_PER_PAGE = 25
DEAL_ORDERINGS = {
    "title": gettext_lazy("Title"),
    "account__name": gettext_lazy("Company"),
    "stage": gettext_lazy("Stage"),
    "amount": gettext_lazy("Amount"),
    "expected_close_date": gettext_lazy("Expected close"),
    "updated_at": gettext_lazy("Updated"),
}


def _ordering(request: AuthedRequest, allowed: dict[str, Any], default: str) -> str:
    value = request.GET.get("ordering") or default
    return value if value.lstrip("-") in allowed else default


@login_required
def deal_list(request: AuthedRequest) -> HttpResponse:
    user = request.user
    base = deals_visible_to(user=user).select_related("account", "owner")
    filterset = DealFilterSet(request.GET or None, queryset=base, request=request)
    if not can_pick_owner(user):
        for name in ("owner", "team"):
            filterset.filters.pop(name)
    # The HTML page offers the filters people use; the API's technical ones stay usable in the URL.
    filter_fields = ["search", "stage", "status", "owner", "team"]
    for name in ("stage", "status"):
        field = filterset.form.fields[name]
        field.widget = forms.CheckboxSelectMultiple(choices=field.choices)
    # The stage column sorts by ladder position, not alphabetically.
    ordering = _ordering(request, DEAL_ORDERINGS, "-updated_at")
    qs = filterset.qs if filterset.is_bound else base
    if ordering.lstrip("-") == "stage":
        position = Case(
            *[When(stage=code, then=Value(pos)) for code, pos in STAGE_POSITION.items()], output_field=IntegerField()
        )
        qs = qs.alias(ladder_position=position)
        qs = qs.order_by(F("ladder_position").desc() if ordering.startswith("-") else F("ladder_position").asc(), "-pk")
    else:
        qs = qs.order_by(ordering, "-pk")
    page = Paginator(qs, DEALS_PER_PAGE).get_page(request.GET.get("page"))
    labels = stage_labels()
    for deal in page.object_list:
        deal.stage_label = labels[deal.stage]
    context = {
        "filterset": filterset,
        "page_obj": page,
        "ordering": ordering,
        "orderings": DEAL_ORDERINGS,
        "can_pick_owner": can_pick_owner(user),
        "filter_fields": filter_fields,
        "filters_active": any(v for k, v in request.GET.items() if k not in ("page", "ordering")),
    }
    template = "pipeline/_deal_table.html" if wants_partial(request) else "pipeline/deal_list.html"
    return render(request, template, context)


@dataclass
class HistoryRow:
    transition: StageTransition
    duration: timedelta | None
    from_label: str = ""
    to_label: str = ""


def stage_history(
    transitions: list[StageTransition], now: datetime, labels: dict[str, str]
) -> tuple[list[HistoryRow], list]:
    """Each transition with the time until the next one, and the total open time spent in each rung."""
    rows = []
    per_stage: dict[str, timedelta] = {}
    for i, t in enumerate(transitions):
        end = transitions[i + 1].occurred_at if i + 1 < len(transitions) else None
        if end is None and t.to_status == DealStatus.OPEN:
            end = now
        duration = (end - t.occurred_at) if end else None
        moved = t.from_stage and t.from_stage != t.to_stage
        rows.append(
            HistoryRow(
                transition=t,
                duration=duration,
                from_label=labels.get(t.from_stage, "") if moved else "",
                to_label=labels.get(t.to_stage, t.to_stage),
            )
        )
        if duration is not None and t.to_status == DealStatus.OPEN:
            per_stage[t.to_stage] = per_stage.get(t.to_stage, timedelta()) + duration
    summary = [{"stage": s.value, "label": labels[s.value], "duration": per_stage.get(s)} for s in Stage]
    return rows, summary


def _deal_context(request: AuthedRequest, deal: Deal, **extra: Any) -> dict[str, Any]:
    user = request.user
    transitions = list(deal.transitions.select_related("actor").order_by("occurred_at", "pk"))
    labels = stage_labels()
    history, time_in_stage = stage_history(transitions, timezone.now(), labels)
    context = {
        "deal": deal,
        "stage_label": labels[deal.stage],
        "stage_choices": list(labels.items()),
        "form": DealForm(instance=deal, user=user, can_pick_owner=can_pick_owner(user)),
        "history": list(reversed(history)),
        "time_in_stage": time_in_stage,
        "can_pick_owner": can_pick_owner(user),
    }
    context.update(_activities_context(deal))
    context.update(extra)
    return context


def _activities_context(deal: Deal, form: ActivityForm | None = None) -> dict[str, Any]:
    activities = list(deal.activities.select_related("owner").order_by("-created_at", "-pk"))
    open_tasks = sorted(
        (a for a in activities if a.kind == ActivityKind.TASK and a.done_at is None),
        key=lambda a: (a.due_at is None, a.due_at),
    )
    now = timezone.now()
    for task in open_tasks:
        setattr(task, "is_overdue", task.due_at is not None and task.due_at < now)  # noqa: B010
    return {
        "activity_form": form or ActivityForm(),
        "open_tasks": open_tasks,
        "timeline": [a for a in activities if not (a.kind == ActivityKind.TASK and a.done_at is None)],
    }


@login_required
def deal_detail(request: AuthedRequest, pk: int) -> HttpResponse:
    deal = visible_deal_or_404(request, pk)
    return render(request, "pipeline/deal_detail.html", _deal_context(request, deal))


@login_required
@require_POST
def deal_edit(request: AuthedRequest, pk: int) -> HttpResponse:
    deal = visible_deal_or_404(request, pk)
    form = DealForm(request.POST, instance=deal, user=request.user, can_pick_owner=can_pick_owner(request.user))
    if form.is_valid():
        try:
            deal_update(deal=Deal.objects.get(pk=deal.pk), actor=request.user, **form.service_fields())
        except DomainError as exc:
            add_domain_errors(form, exc)
        else:
            messages.success(request, _("Saved the deal."))
            if not deals_visible_to(user=request.user).filter(pk=deal.pk).exists():
                return redirect("pipeline:deal_list")  # handed over to someone outside the user's scope
            return redirect("pipeline:deal_detail", pk=deal.pk)
    fresh = visible_deal_or_404(request, pk)
    return render(request, "pipeline/deal_detail.html", _deal_context(request, fresh, form=form), status=400)


@login_required
@require_POST
def activity_create(request: AuthedRequest, pk: int) -> HttpResponse:
    deal = visible_deal_or_404(request, pk)
    form = ActivityForm(request.POST)
    status = 400
    if form.is_valid():
        data = form.cleaned_data
        due_at = None
        if data["kind"] == ActivityKind.TASK and data["due_on"]:
            due_at = timezone.make_aware(datetime.combine(data["due_on"], datetime.min.time()).replace(hour=9))
        try:
            activity_log(
                deal=deal,
                kind=data["kind"],
                subject=data["subject"],
                body=data["body"],
                due_at=due_at,
                actor=request.user,
            )
        except DomainError as exc:
            add_domain_errors(form, exc)
        else:
            messages.success(request, _("Logged: %(subject)s") % {"subject": data["subject"]})
            status = 200
    if not request.htmx:
        if status == 200:
            return redirect("pipeline:deal_detail", pk=deal.pk)
        return render(
            request, "pipeline/deal_detail.html", _deal_context(request, deal, activity_form=form), status=400
        )
    # After a successful log the form comes back empty, ready for the next one.
    context = {"deal": deal, "with_messages": True, **_activities_context(deal, form if status != 200 else None)}
    return render(request, "pipeline/_activities.html", context, status=status)


@login_required
@require_POST
def activity_done(request: AuthedRequest, pk: int, activity_pk: int) -> HttpResponse:
    deal = visible_deal_or_404(request, pk)
    activity = get_object_or_404(activities_visible_to(user=request.user).filter(deal=deal), pk=activity_pk)
    if activity.kind != ActivityKind.TASK:
        raise Http404
    activity_complete(activity=activity, actor=request.user)
    messages.success(request, _("Task done: %(subject)s") % {"subject": activity.subject})
    if not request.htmx:
        return redirect("pipeline:deal_detail", pk=deal.pk)
    return render(
        request, "pipeline/_activities.html", {"deal": deal, "with_messages": True, **_activities_context(deal)}
    )


@login_required
@require_http_methods(["GET", "POST"])
def deal_lose_view(request: AuthedRequest, pk: int) -> HttpResponse:
    deal = visible_deal_or_404(request, pk)
    if deal.status != DealStatus.OPEN:
        messages.error(request, _("Only open deals can be lost."))
        return redirect("pipeline:deal_detail", pk=deal.pk)
    form = LoseForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            deal_lose(
                deal=deal,
                reason=form.cleaned_data["reason"],
                note=form.cleaned_data["note"],
                actor=request.user,
                expected_stage=request.POST.get("expected_stage") or None,
            )
        except DomainError as exc:
            add_domain_errors(form, exc)
        else:
            messages.success(request, _("“%(deal)s” is marked as lost.") % {"deal": deal.title})
            return redirect("pipeline:deal_detail", pk=deal.pk)
    status = 400 if request.method == "POST" else 200
    return render(request, "pipeline/deal_lose.html", {"deal": deal, "form": form}, status=status)


@login_required
@require_POST
def deal_reopen_view(request: AuthedRequest, pk: int) -> HttpResponse:
    deal = visible_deal_or_404(request, pk)
    try:
        deal_reopen(deal=deal, actor=request.user)
    except DomainError as exc:
        flash_domain_errors(request, exc)
    else:
        messages.success(request, _("“%(deal)s” is open again.") % {"deal": deal.title})
    return redirect("pipeline:deal_detail", pk=deal.pk)
