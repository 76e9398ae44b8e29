"""Helpers shared by the pipeline pages: scoped lookups, roles, htmx plumbing."""

from __future__ import annotations

from urllib.parse import urlsplit

from django.http import QueryDict
from django.shortcuts import get_object_or_404
from django.utils.http import url_has_allowed_host_and_scheme

from pipeline.models import Deal
from pipeline.selectors import deals_visible_to
from salesladder.http import AuthedRequest
from salesladder.org.models import User
from salesladder.org.selectors import is_manager


def can_pick_owner(user: User) -> bool:
    """Managers and admins look at other people's deals; reps only at their own."""
    return bool(user.is_superuser or is_manager(user=user))


def visible_deal_or_404(request: AuthedRequest, pk: int) -> Deal:
    """A deal the user may see; anything else is a 404 (never 403: do not leak existence)."""
    qs = deals_visible_to(user=request.user).select_related("account", "contact", "owner", "team", "lost_reason")
    return get_object_or_404(qs, pk=pk)


def htmx_current_query(request: AuthedRequest) -> QueryDict:
    """The query string of the page an htmx request came from (the board's filters)."""
    current = getattr(request, "htmx", None) and request.htmx.current_url
    if not current:
        return QueryDict("")
    return QueryDict(urlsplit(current).query)


def safe_next(request: AuthedRequest, default: str) -> str:
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return default


def wants_partial(request: AuthedRequest) -> bool:
    """An htmx request for a fragment (not a boosted link, not a history restore after "Back")."""
    return bool(request.htmx) and not request.htmx.boosted and not request.htmx.history_restore_request
