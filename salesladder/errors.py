"""Domain errors shared by every app.

Services raise these; the API exception handler maps them to JSON (400/409) and
HTML views turn them into form errors or flash messages. Each carries field-level
messages so a client can show them next to the right input.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from django.utils.functional import Promise


class DomainError(Exception):
    """A request that breaks a business rule. ``errors`` maps a field (or ``non_field_errors``) to messages."""

    status_code = 400
    default_field = "non_field_errors"

    def __init__(self, errors: Mapping[str, Sequence[object]] | str | Promise):
        if not isinstance(errors, Mapping):
            errors = {self.default_field: [errors]}
        self.errors: dict[str, list[str]] = {field: [str(m) for m in msgs] for field, msgs in errors.items()}
        super().__init__(self.message)

    @property
    def message(self) -> str:
        return "; ".join(f"{field}: {' '.join(msgs)}" for field, msgs in self.errors.items())


class Conflict(DomainError):
    """The object changed since the client last saw it (HTTP 409)."""

    status_code = 409
