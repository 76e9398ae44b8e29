"""Request types for the HTML views (type checkers only: nothing here runs differently)."""

from __future__ import annotations

from django.http import HttpRequest
from django_htmx.middleware import HtmxDetails

from salesladder.org.models import User


class AuthedRequest(HttpRequest):
    """A request that passed ``@login_required``, with django-htmx's ``request.htmx``."""

    user: User  # type: ignore[assignment]
    htmx: HtmxDetails
