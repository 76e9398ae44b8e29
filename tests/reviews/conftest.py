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


@pytest.fixture
def api(db):  # type: ignore[no-untyped-def]
    """``api(user)``: an API client logged in as ``user`` (throttle counters reset)."""
    from django.core.cache import cache
    from rest_framework.test import APIClient

    cache.clear()

    def _client(user: User | None) -> APIClient:
        client = APIClient()
        if user is not None:
            client.force_login(user)
        return client

    return _client
