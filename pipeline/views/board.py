"""My pipeline: the kanban board, drag-and-drop moves with inline gate forms, quick-add."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import retarget

from pipeline.errors import GateFailed, StageConflict
from pipeline.forms import BoardFilterForm, GateForm, MoveForm, QuickAddDealForm, add_domain_errors
from pipeline.models import Channel, Deal, DealStatus, Stage, StageConfig
from pipeline.selectors import (
    accounts_visible_to,
    board_cards,
    board_column_totals,
    board_deals,
    stage_configs,
    stage_labels,
)
from pipeline.services import account_for_company, contact_create, deal_create, deal_move
from pipeline.views.common import can_pick_owner, htmx_current_query, safe_next, visible_deal_or_404, wants_partial
from salesladder.errors import DomainError
from salesladder.http import AuthedRequest

# Won deals stay visible in the Signing column for this long, then leave the board.
WON_VISIBLE_DAYS = 90
# Cards rendered per column (longest in the stage first); the rest are a link to the deal list. A
# manager's or admin's board would otherwise render every open deal of their teams (megabytes of HTML).
CARDS_PER_COLUMN = 50


def _is_stale(deal: Deal, config: StageConfig | None, now: Any) -> bool:
    if deal.status != DealStatus.OPEN:
        return False
    if deal.is_stale:
        return True
    if config is None or not config.stale_days:
        return False
    last = deal.last_activity_at or deal.created_at  # the nightly job's clock (pipeline.selectors.stale_q)
    return last < now - timedelta(days=config.stale_days)


def board_context(request: AuthedRequest, params: QueryDict, *, show: int | None = None) -> dict[str, Any]:
    """Everything the board needs, in a fixed number of queries whatever the number of deals. ``show``: a
    deal whose card is rendered even beyond the column's limit (the one just moved or added)."""
    user = request.user
    pick_owner = can_pick_owner(user)
    configs = stage_configs()
    form = BoardFilterForm(params or None, user=user, can_pick_owner=pick_owner)
    filters: dict[str, Any] = form.cleaned_data if form.is_bound and form.is_valid() else {}
    now = timezone.now()
    deals = board_deals(
        user=user,
        now=now,
        configs=configs,
        won_since=now - timedelta(days=WON_VISIBLE_DAYS),
        owner_id=filters["owner"].pk if filters.get("owner") else None,
        search=(filters.get("q") or "").strip(),
        stale_only=bool(filters.get("stale")),
        close_month=filters.get("close_month"),
    )
    totals = board_column_totals(deals=deals)
    labels = stage_labels(configs)
    columns = {
        stage.value: {
            "stage": stage.value,
            "label": labels[stage],
            "count": totals.get(stage, {}).get("count", 0),
            "total": totals.get(stage, {}).get("total", 0),
            "cards": [],
        }
        for stage in Stage
    }
    for deal in board_cards(deals=deals, per_column=CARDS_PER_COLUMN, also=show):
        setattr(deal, "stale_now", _is_stale(deal, configs.get(deal.stage), now))  # noqa: B010 (template-only flag)
        columns[deal.stage]["cards"].append(deal)
    for column in columns.values():
        column["more"] = column["count"] - len(column["cards"])
        if column["more"] > 0:
            column["more_url"] = _deal_list_url(column["stage"], filters)
    stage_choices = [(c["stage"], c["label"]) for c in columns.values()]
    return {
        "columns": list(columns.values()),
        "stage_choices": stage_choices,
        "filter_form": form,
        "filters_active": bool(filters and any(filters.values())),
        "board_query": params.urlencode(),
        "can_pick_owner": pick_owner,
        "won_visible_days": WON_VISIBLE_DAYS,
        "total_count": sum(c["count"] for c in columns.values()),
    }


def _deal_list_url(stage: str, filters: dict[str, Any]) -> str:
    """The deal list showing a column's deals beyond the board's cards (same stage, owner and search)."""
    params: list[tuple[str, str]] = [("stage", stage), ("status", DealStatus.OPEN)]
    if stage == Stage.SIGNING:
        params.append(("status", DealStatus.WON))
    if filters.get("stale"):
        params.append(("is_stale", "true"))
    if filters.get("owner"):
        params.append(("owner", str(filters["owner"].pk)))
    if (filters.get("q") or "").strip():
        params.append(("search", filters["q"].strip()))
    return f"{reverse('pipeline:deal_list')}?{urlencode(params)}"


def _account_names(request: AuthedRequest) -> list[str]:
    return list(accounts_visible_to(user=request.user).order_by("name").values_list("name", flat=True).distinct()[:500])


@login_required
@require_GET
def board(request: AuthedRequest) -> HttpResponse:
    context = board_context(request, request.GET)
    if wants_partial(request):
        return render(request, "pipeline/_board.html", {**context, "with_messages": True})
    context["quick_add_form"] = QuickAddDealForm()
    context["account_names"] = _account_names(request)
    return render(request, "pipeline/board.html", context)


def _board_response(request: AuthedRequest, *, status: int = 200, focus_deal: int | None = None) -> HttpResponse:
    """The re-rendered board (filters of the page the request came from), swapped over ``#board``.

    ``focus_deal``: the card keyboard focus returns to after the swap (the one just moved).
    """
    context = board_context(request, htmx_current_query(request), show=focus_deal)
    context.update(with_messages=True, focus_deal=focus_deal)
    response = render(request, "pipeline/_board.html", context, status=status)
    return retarget(response, "#board")


def _gate_response(
    request: AuthedRequest, *, deal: Deal, form: GateForm, to_stage: str, expected_stage: str, from_board: bool
) -> HttpResponse:
    context = {
        "deal": deal,
        "gate_form": form,
        "to_stage": to_stage,
        "to_stage_label": stage_configs().get(to_stage) or Stage(to_stage).label,
        "expected_stage": expected_stage,
        "board_query": htmx_current_query(request).urlencode(),
        "next": safe_next(request, reverse("pipeline:deal_detail", args=[deal.pk])),
    }
    template = "pipeline/_gate_form.html" if from_board else "pipeline/deal_gate.html"
    return render(request, template, context, status=400)


@login_required
@require_POST
def deal_move_view(request: AuthedRequest, pk: int) -> HttpResponse:
    """Move a deal (drag on the board, the "Move to…" menu, or the deal page).

    A failed gate answers a small form for exactly the missing fields; submitting it sends the
    values with the move so both happen in one transaction (nothing is half-saved).
    """
    deal = visible_deal_or_404(request, pk)
    from_board = bool(request.htmx) and request.POST.get("source") == "board"
    deal_url = reverse("pipeline:deal_detail", args=[deal.pk])
    move = MoveForm(request.POST)
    if not move.is_valid():
        messages.error(request, _("Choose a stage to move the deal to."))
        return _board_response(request, status=400) if from_board else redirect(safe_next(request, deal_url))
    to_stage = move.cleaned_data["to_stage"]
    expected_stage = move.cleaned_data["expected_stage"] or None
    gate_form: GateForm | None = None
    fields: dict[str, Any] = {}
    if request.POST.get("gate"):
        gate_form = GateForm(request.POST, deal=deal, gate_fields=request.POST.getlist("gate_fields"))
        if not gate_form.is_valid():
            return _gate_response(
                request,
                deal=deal,
                form=gate_form,
                to_stage=to_stage,
                expected_stage=expected_stage or "",
                from_board=from_board,
            )
        fields = {name: gate_form.cleaned_data[name] for name in gate_form.gate_fields}
    try:
        with transaction.atomic():
            new_contact = gate_form.cleaned_data.get("new_contact_name") if gate_form else ""
            if new_contact and not fields.get("contact"):
                fields["contact"] = contact_create(account=deal.account, name=new_contact)
            deal = deal_move(
                deal=deal,
                to_stage=to_stage,
                actor=request.user,
                channel=Channel.UI,
                expected_stage=expected_stage,
                fields=fields,
            )
    except GateFailed as exc:
        if gate_form is None:
            form = GateForm(deal=deal, gate_fields=list(exc.errors))
            form.gate_messages = [m for msgs in exc.errors.values() for m in msgs]
        else:  # the deal changed meanwhile and now needs more: ask for those fields too
            form = GateForm(request.POST, deal=deal, gate_fields=[*gate_form.gate_fields, *exc.errors])
            form.is_valid()
            add_domain_errors(form, exc)
        return _gate_response(
            request, deal=deal, form=form, to_stage=to_stage, expected_stage=expected_stage or "", from_board=from_board
        )
    except StageConflict:
        messages.warning(
            request,
            _("“%(deal)s” was moved by someone else meanwhile; the board shows where it is now.")
            % {"deal": deal.title},
        )
        if from_board:
            return _board_response(request, status=409, focus_deal=deal.pk)
        return redirect(safe_next(request, deal_url))
    except DomainError as exc:
        if gate_form is not None:
            add_domain_errors(gate_form, exc)
            return _gate_response(
                request,
                deal=deal,
                form=gate_form,
                to_stage=to_stage,
                expected_stage=expected_stage or "",
                from_board=from_board,
            )
        for field_messages in exc.errors.values():
            for message in field_messages:
                messages.error(request, message)
        return _board_response(request, status=400) if from_board else redirect(safe_next(request, deal_url))
    label = stage_configs().get(deal.stage)
    if deal.status == DealStatus.WON:
        messages.success(request, _("“%(deal)s” is won. Congratulations!") % {"deal": deal.title})
    else:
        messages.success(request, _("Moved “%(deal)s” to %(stage)s.") % {"deal": deal.title, "stage": label})
    return _board_response(request, focus_deal=deal.pk) if from_board else redirect(safe_next(request, deal_url))


@login_required
@require_POST
def quick_add(request: AuthedRequest) -> HttpResponse:
    form = QuickAddDealForm(request.POST)
    deal = None
    if form.is_valid():
        try:
            with transaction.atomic():
                account = account_for_company(name=form.cleaned_data["company"], actor=request.user)
                deal = deal_create(
                    title=form.cleaned_data["title"],
                    account=account,
                    owner=request.user,
                    actor=request.user,
                    channel=Channel.UI,
                    amount=form.cleaned_data["amount"],
                )
        except DomainError as exc:
            add_domain_errors(form, exc)
    if deal is not None:
        messages.success(request, _("Added “%(deal)s” to Preparation.") % {"deal": deal.title})
    if not request.htmx:
        if deal is not None:
            return redirect("pipeline:board")
        context = board_context(request, QueryDict(""))
        context.update(quick_add_form=form, account_names=_account_names(request), quick_add_open=True)
        return render(request, "pipeline/board.html", context, status=400)
    if deal is None:
        context = {"quick_add_form": form, "quick_add_open": True, "account_names": _account_names(request)}
        return render(request, "pipeline/_quick_add.html", context, status=400)
    context = board_context(request, htmx_current_query(request), show=deal.pk)
    context.update(
        quick_add_form=QuickAddDealForm(), account_names=_account_names(request), board_oob=True, with_messages=True
    )
    return render(request, "pipeline/_quick_add.html", context)
