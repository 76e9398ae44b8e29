"""Scope checks for integration tokens.

A view declares ``required_scopes``: either a list of scopes of which the token must hold one, or a
dict keyed by action name (``"list"``, ``"move"``…) or by ``"read"``/``"write"`` (safe vs. unsafe
methods) with such lists. ``[]`` means only a full-access token will do; ``ANY_TOKEN`` lets every
token through. Views that declare nothing get ``DEFAULT_REQUIRED_SCOPES``: reading needs
``deals:read`` or ``deals:write``, writing needs ``deals:write``. Session users and full-access
tokens (no scopes) are limited only by their user's rights.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.request import Request

from salesladder.org.models import ApiScope, ApiToken

ANY_TOKEN = "*"
READ_SCOPES: list[str] = [ApiScope.DEALS_READ.value, ApiScope.DEALS_WRITE.value]
WRITE_SCOPES: list[str] = [ApiScope.DEALS_WRITE.value]
DEFAULT_REQUIRED_SCOPES: dict[str, list[str]] = {"read": READ_SCOPES, "write": WRITE_SCOPES}


def required_scopes_for(view: Any, request: Request) -> list[str]:
    declared = getattr(view, "required_scopes", None)
    if declared is None:
        declared = DEFAULT_REQUIRED_SCOPES
    if isinstance(declared, dict):
        action = getattr(view, "action", None)
        if action in declared:
            return list(declared[action])
        key = "read" if request.method in SAFE_METHODS else "write"
        return list(declared.get(key, DEFAULT_REQUIRED_SCOPES[key]))
    return list(declared)


class HasTokenScope(BasePermission):
    message = _("This API key does not have the scope needed for this request.")

    def has_permission(self, request: Request, view: Any) -> bool:
        token = request.auth
        if not isinstance(token, ApiToken) or token.is_full_access:
            return True
        required = required_scopes_for(view, request)
        if ANY_TOKEN in required:
            return True
        return bool(set(required) & set(token.scopes))


class IsAdmin(BasePermission):
    """Organisation admins (superusers) only."""

    message = _("Only administrators can do this.")

    def has_permission(self, request: Request, view: Any) -> bool:
        return bool(request.user and request.user.is_authenticated and request.user.is_superuser)
