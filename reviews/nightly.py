"""The review part of the nightly job, registered with the targets app's hook registry at start-up.

``run_nightly --date D`` (and the beat task) calls ``review_nightly(as_of=D)``: drafts for every
period that has ended by the end of D (idempotent), then the overdue flags of action items.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from reviews.services import review_drafts_nightly


def review_nightly(*, as_of: date, **_: Any) -> dict[str, int]:
    return review_drafts_nightly(as_of=as_of)


def register_with_targets() -> bool:
    """Hook into targets' nightly registry if that app provides one; returns whether it did."""
    try:
        from targets import nightly  # type: ignore[attr-defined]
    except ImportError:
        return False
    register = getattr(nightly, "register_nightly_hook", None)
    if register is not None:
        register("reviews", review_nightly)
        return True
    hooks = getattr(nightly, "NIGHTLY_HOOKS", None)
    if isinstance(hooks, list) and review_nightly not in hooks:
        hooks.append(review_nightly)
        return True
    return False
