"""Navigation by role for every page (``base.html`` renders ``nav_items``).

Other apps add their pages by listing a URL name in ``NAV_ITEMS``: an item whose URL name does
not resolve (its app has not shipped the page yet) is simply left out, so the menu never breaks.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from salesladder.org.models import User
from salesladder.org.selectors import is_manager

REP, MANAGER, ADMIN = "rep", "manager", "admin"
ALL_ROLES = frozenset({REP, MANAGER, ADMIN})
LEADS = frozenset({MANAGER, ADMIN})


@dataclass(frozen=True)
class NavItem:
    url_name: str
    label: Promise
    roles: frozenset[str] = ALL_ROLES


NAV_ITEMS: list[NavItem] = [
    NavItem("dashboard", _("Dashboard"), LEADS),
    NavItem("pipeline:board", _("My pipeline")),
    NavItem("pipeline:deal_list", _("Deals")),
    NavItem("pipeline:account_list", _("Accounts")),
    NavItem("pipeline:contact_list", _("Contacts")),
    NavItem("targets", _("Targets"), LEADS),
    NavItem("reviews", _("Reviews")),
    NavItem("lead_import", _("Import"), LEADS),
]


def user_role(user: User) -> str:
    """``admin``, ``manager`` (manages at least one team) or ``rep``."""
    if user.is_superuser:
        return ADMIN
    return MANAGER if is_manager(user=user) else REP


def navigation(request: HttpRequest) -> dict[str, object]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav_items": [], "user_role": ""}
    role = user_role(user)
    items = []
    for item in NAV_ITEMS:
        if role not in item.roles:
            continue
        try:
            url = reverse(item.url_name)
        except NoReverseMatch:
            continue
        items.append({"url": url, "label": item.label, "active": request.path.startswith(url)})
    return {"nav_items": items, "user_role": role}
