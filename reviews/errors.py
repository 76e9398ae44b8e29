"""Domain errors of the review workflow (mapped to JSON by the one API exception handler)."""

from __future__ import annotations

from django.utils.functional import Promise
from django.utils.translation import gettext as _

from salesladder.errors import DomainError


class ReviewStatusError(DomainError):
    """The review is not in a status that allows this step (400, on the ``status`` field)."""

    default_field = "status"


class ReviewFieldForbidden(DomainError):
    """A field the caller's role may not change (400, on that field)."""


class ReviewActionForbidden(DomainError):
    """The caller can see the review but their role may not take this step (403)."""

    status_code = 403


def status_error(current: str | Promise, allowed: str | Promise) -> ReviewStatusError:
    return ReviewStatusError(
        {
            "status": [
                _("The review is %(current)s; this step needs it to be %(allowed)s.")
                % {"current": str(current).lower(), "allowed": str(allowed).lower()}
            ]
        }
    )
