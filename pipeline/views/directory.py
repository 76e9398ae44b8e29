"""Accounts and contacts: lists, detail pages with their deals, create and edit forms."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from pipeline.filtersets import AccountFilterSet, ContactFilterSet
from pipeline.forms import AccountForm, ContactForm, add_domain_errors
from pipeline.models import DealStatus
from pipeline.selectors import accounts_visible_to, contacts_visible_to, deals_visible_to
from pipeline.services import account_create, account_update, contact_create, contact_update
from pipeline.views.common import wants_partial
from salesladder.errors import DomainError
from salesladder.http import AuthedRequest

PER_PAGE = 25
CONTACTS_SHOWN = 50  # on an account's page; the rest are one click away in the contact list


def _list_template(request: AuthedRequest, page: str, partial: str) -> str:
    return partial if wants_partial(request) else page


@login_required
def account_list(request: AuthedRequest) -> HttpResponse:
    user = request.user
    visible_deals = deals_visible_to(user=user).values("pk")
    base = (
        accounts_visible_to(user=user)
        .select_related("owner")
        .annotate(
            open_deals=Count("deals", filter=Q(deals__status=DealStatus.OPEN, deals__in=visible_deals), distinct=True),
            contact_count=Count("contacts", distinct=True),
        )
        .order_by("name", "pk")
    )
    filterset = AccountFilterSet(request.GET or None, queryset=base, request=request)
    qs = filterset.qs if filterset.is_bound else base
    page = Paginator(qs, PER_PAGE).get_page(request.GET.get("page"))
    context = {
        "filterset": filterset,
        "page_obj": page,
        "filters_active": any(v for k, v in request.GET.items() if k != "page"),
    }
    return render(
        request, _list_template(request, "pipeline/account_list.html", "pipeline/_account_table.html"), context
    )


@login_required
def account_detail(request: AuthedRequest, pk: int) -> HttpResponse:
    account = get_object_or_404(accounts_visible_to(user=request.user).select_related("owner"), pk=pk)
    deals = deals_visible_to(user=request.user).filter(account=account).select_related("owner")
    page = Paginator(deals.order_by("-updated_at", "-pk"), PER_PAGE).get_page(request.GET.get("page"))
    contacts = list(account.contacts.order_by("name", "pk")[: CONTACTS_SHOWN + 1])
    context = {
        "account": account,
        "page_obj": page,
        "deals": page.object_list,
        "contacts": contacts[:CONTACTS_SHOWN],
        "more_contacts": len(contacts) > CONTACTS_SHOWN,
    }
    return render(request, "pipeline/account_detail.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def account_form(request: AuthedRequest, pk: int | None = None) -> HttpResponse:
    account = get_object_or_404(accounts_visible_to(user=request.user), pk=pk) if pk else None
    initial = {"name": account.name, "domain": account.domain} if account else None
    form = AccountForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            if account:
                account = account_update(account=account, **form.cleaned_data)
            else:
                account = account_create(owner=request.user, **form.cleaned_data)
        except DomainError as exc:
            add_domain_errors(form, exc)
        else:
            messages.success(request, _("Saved %(account)s.") % {"account": account.name})
            return redirect("pipeline:account_detail", pk=account.pk)
    status = 400 if request.method == "POST" else 200
    return render(request, "pipeline/account_form.html", {"form": form, "account": account}, status=status)


@login_required
def contact_list(request: AuthedRequest) -> HttpResponse:
    user = request.user
    base = contacts_visible_to(user=user).select_related("account").order_by("name", "pk")
    filterset = ContactFilterSet(request.GET or None, queryset=base, request=request)
    qs = filterset.qs if filterset.is_bound else base
    page = Paginator(qs, PER_PAGE).get_page(request.GET.get("page"))
    context = {
        "filterset": filterset,
        "page_obj": page,
        "filters_active": any(v for k, v in request.GET.items() if k != "page"),
    }
    return render(
        request, _list_template(request, "pipeline/contact_list.html", "pipeline/_contact_table.html"), context
    )


@login_required
def contact_detail(request: AuthedRequest, pk: int) -> HttpResponse:
    contact = get_object_or_404(contacts_visible_to(user=request.user).select_related("account"), pk=pk)
    deals = deals_visible_to(user=request.user).filter(contact=contact).select_related("owner")
    page = Paginator(deals.order_by("-updated_at", "-pk"), PER_PAGE).get_page(request.GET.get("page"))
    context = {"contact": contact, "page_obj": page, "deals": page.object_list}
    return render(request, "pipeline/contact_detail.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def contact_form(request: AuthedRequest, pk: int | None = None) -> HttpResponse:
    contact = get_object_or_404(contacts_visible_to(user=request.user), pk=pk) if pk else None
    if contact:
        initial = {f: getattr(contact, f) for f in ("name", "title", "email", "phone")} | {
            "account": contact.account_id
        }
    else:
        initial = {"account": request.GET.get("account")} if request.GET.get("account") else {}
    form = ContactForm(request.POST or None, user=request.user, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            if contact:
                contact = contact_update(contact=contact, **form.cleaned_data)
            else:
                contact = contact_create(**form.cleaned_data)
        except DomainError as exc:
            add_domain_errors(form, exc)
        else:
            messages.success(request, _("Saved %(contact)s.") % {"contact": contact.name})
            return redirect("pipeline:contact_detail", pk=contact.pk)
    status = 400 if request.method == "POST" else 200
    return render(request, "pipeline/contact_form.html", {"form": form, "contact": contact}, status=status)
