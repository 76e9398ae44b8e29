"""What the HTML views share: the request type (for type checkers) and showing a domain error as messages."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest
from django_htmx.middleware import HtmxDetails

from salesladder.errors import DomainError
from salesladder.org.models import User


class AuthedRequest(HttpRequest):
    """A request that passed ``@login_required``, with django-htmx's ``request.htmx``."""

    user: User  # type: ignore[assignment]
    htmx: HtmxDetails


def flash_domain_errors(request: HttpRequest, exc: DomainError) -> None:
    """Every message of a refused write as an error message on the next page."""
    for msgs in exc.errors.values():
        for message in msgs:
            messages.error(request, message)
