from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from pipeline.models import Deal, Stage
from pipeline.services import deal_lose
from reviews.models import CycleKind, Review, ReviewCycle, ReviewStatus
from salesladder.org.models import Team, User
from targets.models import IncentiveTier, Quota, TierMeasure
from targets.periods import Period
from tests.factories import ActivityFactory, lost_reason, make_deal

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


LADDER = {"prep": 10, "contact": 5, "needs": 4, "proposal": 2, "negotiation": 2, "signing": 1}


@pytest.fixture
def busy_month(org):  # type: ignore[no-untyped-def]
    """This month: alice and bob work deals at various rungs, win, lose, log activities; quotas and tiers set."""
    period = Period.current()
    for user in (org.alice, org.bob):
        for stage, value in LADDER.items():
            Quota.objects.create(period=period.key, user=user, stage=stage, value=value)
    IncentiveTier.objects.create(period=period.key, measure=TierMeasure.SIGNINGS, threshold=1, name="Bronze")
    IncentiveTier.objects.create(period=period.key, measure=TierMeasure.SIGNINGS, threshold=3, name="Silver")
    for stage in (Stage.PREP, Stage.CONTACT, Stage.NEEDS, Stage.PROPOSAL):
        make_deal(owner=org.alice, stage=stage)
    won = make_deal(owner=org.alice, stage=Stage.SIGNING, contract_amount=Decimal("12000.00"))
    lost = make_deal(owner=org.alice, stage=Stage.NEEDS)
    deal_lose(deal=lost, reason=lost_reason("price"), actor=org.alice)
    lost2 = make_deal(owner=org.alice, stage=Stage.CONTACT)
    deal_lose(deal=lost2, reason=lost_reason("timing"), actor=org.alice)
    quiet = make_deal(owner=org.alice, stage=Stage.PREP)
    Deal.objects.filter(pk=quiet.pk).update(last_activity_at=timezone.now() - timedelta(days=40))
    ActivityFactory(deal=won, kind="meeting", subject="Kick-off")
    ActivityFactory(deal=won, kind="call", subject="Follow-up")
    ActivityFactory(deal=lost, kind="call", subject="Price talk")
    for stage in (Stage.PREP, Stage.PREP, Stage.CONTACT, Stage.PROPOSAL):
        make_deal(owner=org.bob, stage=stage)
    return period
