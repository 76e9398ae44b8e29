"""Review pages: the list with completion per team, and the review itself (scorecard, workflow, action items).

Every lookup starts from ``reviews_visible_to``: a rep sees their own reviews once shared (a draft is a
404 for them), managers the reviews of their teams. Each step calls one ``reviews.services`` function;
its domain errors become messages and the page answers with the error's status (400, or 403 when the
caller may see the review but their role may not take the step).
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from pipeline.models import Stage
from pipeline.selectors import stage_labels
from reviews.models import ActionItem, Review, ReviewStatus
from reviews.scorecard import scorecard_render
from reviews.selectors import (
    is_reviews_manager,
    latest_periods,
    review_history,
    reviews_completion,
    reviews_for_list,
)
from reviews.services import (
    action_item_add,
    action_item_delete,
    action_item_update,
    review_acknowledge,
    review_close,
    review_share,
    review_update,
)
from salesladder.errors import DomainError
from salesladder.http import AuthedRequest, flash_domain_errors
from salesladder.org.selectors import team_descendant_ids
from targets.periods import Period
from targets.views.common import is_lead, visible_teams

STAGES: list[str] = list(Stage.values)
TEXT_MAX = 10_000


class ReviewForm(forms.Form):
    rating = forms.TypedChoiceField(
        label=gettext_lazy("Rating"),
        choices=[("", "—")] + [(i, str(i)) for i in range(1, 6)],
        coerce=int,
        empty_value=None,
        required=False,
        help_text=gettext_lazy("1 (low) to 5 (high). Needed before sharing."),
    )
    strengths = forms.CharField(
        label=gettext_lazy("Strengths"), widget=forms.Textarea(attrs={"rows": 3}), required=False, max_length=TEXT_MAX
    )
    improvements = forms.CharField(
        label=gettext_lazy("Areas to improve"),
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,
        max_length=TEXT_MAX,
    )
    manager_comment = forms.CharField(
        label=gettext_lazy("Manager's comment"),
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,
        max_length=TEXT_MAX,
    )


class RepCommentForm(forms.Form):
    rep_comment = forms.CharField(
        label=gettext_lazy("Your comment"),
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,
        max_length=TEXT_MAX,
    )


class ActionItemForm(forms.Form):
    text = forms.CharField(label=gettext_lazy("Action"), max_length=500)
    due_date = forms.DateField(
        label=gettext_lazy("Due"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )


def _labels() -> dict[str, str]:
    return stage_labels()


# --- list -----------------------------------------------------------------------------------------------


@login_required
@require_GET
def review_list(request: AuthedRequest) -> HttpResponse:
    lead = is_lead(request)
    base = reviews_for_list(user=request.user).prefetch_related(None).select_related("user", "cycle__team")
    periods = latest_periods(reviews=base)
    period = (request.GET.get("period") or "").strip() or (periods[0] if periods else "")
    if period:
        try:  # like an unknown status or team below: a period that cannot exist lists nothing (404)
            period = Period.parse(period).key
        except DomainError:
            raise Http404 from None
    status = (request.GET.get("status") or "").strip()
    teams = visible_teams(request) if lead else []
    team = None
    team_raw = (request.GET.get("team") or "").strip()
    if team_raw:
        team = next((t for t in teams if str(t.pk) == team_raw), None)
        if team is None:
            raise Http404
    qs = base
    if period:
        qs = qs.filter(period=period)
    if status:
        if status not in ReviewStatus.values:
            raise Http404
        qs = qs.filter(status=status)
    if team is not None:
        qs = qs.filter(cycle__team_id__in=team_descendant_ids(team_ids=[team.pk]))
    page = Paginator(qs.order_by("cycle__team__name", "user__username", "pk"), 50).get_page(request.GET.get("page"))
    completion = reviews_completion(period=period, team=team, user=request.user) if lead and period else []
    context = {
        "lead": lead,
        "periods": periods,
        "period": period,
        "status": status,
        "statuses": ReviewStatus.choices,
        "teams": teams,
        "team": team,
        "page_obj": page,
        "reviews": page.object_list,
        "completion": completion,
    }
    return render(request, "reviews/list.html", context)


# --- the review -------------------------------------------------------------------------------------------


def _visible_review(request: AuthedRequest, pk: int) -> Review:
    return get_object_or_404(reviews_for_list(user=request.user), pk=pk)


def _visible_item(request: AuthedRequest, pk: int, item_pk: int) -> tuple[Review, ActionItem]:
    review = _visible_review(request, pk)
    return review, get_object_or_404(ActionItem, pk=item_pk, review=review)


def _scorecard(review: Review, labels: dict[str, str]) -> dict[str, Any]:
    card = scorecard_render(review.scorecard)
    stages = card.get("stages") or []
    for row in stages:
        row["label"] = labels.get(row.get("stage"), row.get("stage"))
    tiers = card.get("tiers")
    if tiers is None and card.get("tier"):
        tiers = [card["tier"]]
    card["tier_list"] = tiers or []
    card["chart"] = {
        "stages": [row["label"] for row in stages],
        "entered": [row.get("entered") for row in stages],
        "quota": [row.get("quota") for row in stages],
        "labels": {"entered": _("Entered"), "quota": _("Quota")},
    }
    return card


def _detail_context(request: AuthedRequest, review: Review, **extra: Any) -> dict[str, Any]:
    is_manager = is_reviews_manager(actor=request.user, review=review)
    is_rep = request.user.pk == review.user_id
    labels = _labels()
    editable = is_manager and review.status in (ReviewStatus.DRAFT, ReviewStatus.SHARED)
    initial = {f: getattr(review, f) for f in ("rating", "strengths", "improvements", "manager_comment")}
    items = list(review.action_items.all())
    editing = extra.pop("editing_item", None)
    if editing is None and is_manager and review.status != ReviewStatus.CLOSED:
        raw = request.GET.get("edit_item", "")
        editing = next((i for i in items if str(i.pk) == raw), None)
    return {
        "review": review,
        "card": _scorecard(review, labels),
        "is_manager": is_manager,
        "is_rep": is_rep,
        "can_edit": editable,
        "can_share": is_manager and review.status == ReviewStatus.DRAFT,
        "can_close": is_manager and review.status == ReviewStatus.ACKNOWLEDGED,
        "can_comment": is_rep and review.status in (ReviewStatus.SHARED, ReviewStatus.ACKNOWLEDGED),
        "can_acknowledge": is_rep and review.status == ReviewStatus.SHARED,
        "can_add_items": is_manager and review.status != ReviewStatus.CLOSED,
        "can_tick_items": (is_manager or is_rep),
        "form": extra.pop("form", None) or ReviewForm(initial=initial),
        "comment_form": extra.pop("comment_form", None) or RepCommentForm(initial={"rep_comment": review.rep_comment}),
        "item_form": extra.pop("item_form", None) or ActionItemForm(),
        "items": items,
        "can_edit_items": is_manager and review.status != ReviewStatus.CLOSED,
        "can_delete_items": is_manager and review.status == ReviewStatus.DRAFT,
        "editing_item": editing,
        "edit_item_form": extra.pop("edit_item_form", None)
        or (
            ActionItemForm(prefix="edit", initial={"text": editing.text, "due_date": editing.due_date})
            if editing
            else None
        ),
        "history": review_history(review=review, viewer=request.user),
        "field_labels": {f.attname: f.verbose_name for f in Review._meta.concrete_fields}
        | {f.attname: f.verbose_name for f in ActionItem._meta.concrete_fields if f.attname != "id"},
        "stars": range(1, 6),
        **extra,
    }


@login_required
@require_GET
def review_detail(request: AuthedRequest, pk: int) -> HttpResponse:
    review = _visible_review(request, pk)
    return render(request, "reviews/detail.html", _detail_context(request, review))


def _fail(request: AuthedRequest, review: Review, exc: DomainError, **extra: Any) -> HttpResponse:
    flash_domain_errors(request, exc)
    review.refresh_from_db()
    return render(request, "reviews/detail.html", _detail_context(request, review, **extra), status=exc.status_code)


def _back(review: Review) -> HttpResponse:
    return redirect(reverse("review_detail", args=[review.pk]))


def _invalid(request: AuthedRequest, review: Review, **forms_: Any) -> HttpResponse:
    messages.error(request, _("Please correct the errors below."))
    return render(request, "reviews/detail.html", _detail_context(request, review, **forms_), status=400)


@login_required
@require_POST
def review_edit(request: AuthedRequest, pk: int) -> HttpResponse:
    review = _visible_review(request, pk)
    form = ReviewForm(request.POST)
    if not form.is_valid():
        return _invalid(request, review, form=form)
    try:
        review_update(review=review, actor=request.user, **form.cleaned_data)
    except DomainError as exc:
        return _fail(request, review, exc, form=form)
    messages.success(request, _("Review saved."))
    return _back(review)


@login_required
@require_POST
def review_share_view(request: AuthedRequest, pk: int) -> HttpResponse:
    review = _visible_review(request, pk)
    if request.POST.get("confirm") != "yes":
        return render(request, "reviews/detail.html", _detail_context(request, review, confirm_share=True))
    try:
        review_share(review=review, actor=request.user)
    except DomainError as exc:
        return _fail(request, review, exc)
    messages.success(request, _("Review shared with %(rep)s.") % {"rep": review.user})
    return _back(review)


@login_required
@require_POST
def review_comment(request: AuthedRequest, pk: int) -> HttpResponse:
    review = _visible_review(request, pk)
    form = RepCommentForm(request.POST)
    if not form.is_valid():
        return _invalid(request, review, comment_form=form)
    if request.POST.get("acknowledge") == "yes" and request.POST.get("confirm") != "yes":
        # acknowledging cannot be undone: ask first, keeping the comment typed so far
        context = _detail_context(request, review, confirm_acknowledge=True, comment_form=form)
        return render(request, "reviews/detail.html", context)
    try:
        if request.POST.get("acknowledge") == "yes":
            review_acknowledge(review=review, actor=request.user, rep_comment=form.cleaned_data["rep_comment"])
            messages.success(request, _("Review acknowledged."))
        else:
            review_update(review=review, actor=request.user, rep_comment=form.cleaned_data["rep_comment"])
            messages.success(request, _("Comment saved."))
    except DomainError as exc:
        return _fail(request, review, exc, comment_form=form)
    return _back(review)


@login_required
@require_POST
def review_close_view(request: AuthedRequest, pk: int) -> HttpResponse:
    review = _visible_review(request, pk)
    if request.POST.get("confirm") != "yes":
        return render(request, "reviews/detail.html", _detail_context(request, review, confirm_close=True))
    try:
        review_close(review=review, actor=request.user)
    except DomainError as exc:
        return _fail(request, review, exc)
    messages.success(request, _("Review closed."))
    return _back(review)


@login_required
@require_POST
def action_item_create(request: AuthedRequest, pk: int) -> HttpResponse:
    review = _visible_review(request, pk)
    form = ActionItemForm(request.POST)
    if not form.is_valid():
        return _invalid(request, review, item_form=form)
    try:
        action_item_add(review=review, actor=request.user, **form.cleaned_data)
    except DomainError as exc:
        return _fail(request, review, exc, item_form=form)
    messages.success(request, _("Action item added."))
    return _back(review)


@login_required
@require_POST
def action_item_toggle(request: AuthedRequest, pk: int, item_pk: int) -> HttpResponse:
    review, item = _visible_item(request, pk, item_pk)
    try:
        action_item_update(item=item, actor=request.user, done=request.POST.get("done") == "yes")
    except DomainError as exc:
        return _fail(request, review, exc)
    return _back(review)


@login_required
@require_POST
def action_item_edit(request: AuthedRequest, pk: int, item_pk: int) -> HttpResponse:
    """The manager rewrites an item's text or due date (the form opens in place with ``?edit_item=``)."""
    review, item = _visible_item(request, pk, item_pk)
    form = ActionItemForm(request.POST, prefix="edit")  # the add form is on the same page
    if not form.is_valid():
        context = _detail_context(request, review, editing_item=item, edit_item_form=form)
        return render(request, "reviews/detail.html", context, status=400)
    try:
        action_item_update(item=item, actor=request.user, **form.cleaned_data)
    except DomainError as exc:
        return _fail(request, review, exc, editing_item=item, edit_item_form=form)
    messages.success(request, _("Action item saved."))
    return _back(review)


@login_required
@require_POST
def action_item_delete_view(request: AuthedRequest, pk: int, item_pk: int) -> HttpResponse:
    review, item = _visible_item(request, pk, item_pk)
    if request.POST.get("confirm") != "yes":
        return render(request, "reviews/detail.html", _detail_context(request, review, confirm_delete_item=item))
    try:
        action_item_delete(item=item, actor=request.user)
    except DomainError as exc:
        return _fail(request, review, exc)
    messages.success(request, _("Action item deleted."))
    return _back(review)
