from __future__ import annotations

from typing import Any

import pytest

from reviews.models import CycleKind, Review, ReviewCycle, ReviewStatus
from salesladder.org.models import Team, User

PERIOD = "2026-10"


@pytest.fixture
def make_review():  # type: ignore[no-untyped-def]
    """A review of ``user`` in ``team``'s monthly cycle, straight in the given status (no workflow)."""

    def _make(user: User, team: Team, *, period: str = PERIOD, status: str = ReviewStatus.DRAFT, **fields: Any):
        cycle, _ = ReviewCycle.objects.get_or_create(team=team, kind=CycleKind.MONTH)
        return Review.objects.create(cycle=cycle, user=user, period=period, status=status, **fields)

    return _make
