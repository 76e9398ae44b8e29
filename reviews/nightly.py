"""The review part of the nightly job, registered with targets' hook registry at start-up.

targets runs its hooks after each nightly run as ``hook(run_date=..., closed_periods=[...])``
(``run_nightly --date D`` and the beat task). For every review-cycle kind (month, quarter) this creates
the drafts of the period that has ended by the end of D (idempotent: a second run creates nothing),
then sets the overdue flags of action items. The cycle kinds are ours, so a quarterly team is reviewed
even when no quarterly quota exists (targets' ``closed_periods`` only lists the kinds it uses).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from reviews.services import review_drafts_nightly


def review_nightly(*, run_date: date, **_: Any) -> dict[str, int]:
    return review_drafts_nightly(as_of=run_date)


def register_with_targets() -> bool:
    """Hook into targets' nightly registry; returns whether it did (False if targets has none)."""
    try:
        from targets.services import register_nightly_hook
    except ImportError:
        return False
    register_nightly_hook(review_nightly)
    return True
