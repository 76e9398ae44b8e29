from __future__ import annotations

from django.utils.translation import gettext as _

from salesladder.errors import Conflict, DomainError


class GateFailed(DomainError):
    """Entering a rung needs fields the deal does not have; ``stage`` is the first rung that failed."""

    def __init__(self, errors: dict[str, list[str]], *, stage: str):
        self.stage = stage
        super().__init__(errors)


class StageConflict(Conflict):
    """``expected_stage`` no longer holds: someone else moved the deal."""

    def __init__(self, *, current_stage: str, current_status: str):
        self.current_stage = current_stage
        self.current_status = current_status
        super().__init__(
            {
                "expected_stage": [
                    _("The deal has moved to %(stage)s meanwhile; reload and try again.") % {"stage": current_stage}
                ]
            }
        )

    def api_extra(self) -> dict[str, str]:
        """Extra keys for the API's 409 body, so a client can refresh without another request."""
        return {"current_stage": self.current_stage, "current_status": self.current_status}


class DealClosed(DomainError):
    """The operation needs an open deal (or, for reopen, a lost one)."""

    default_field = "status"
