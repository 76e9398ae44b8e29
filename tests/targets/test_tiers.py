"""Incentive tiers: writes, which tiers apply to a team, standing and gap to the next tier."""

from __future__ import annotations

from decimal import Decimal

import pytest

from salesladder.errors import DomainError
from targets.models import IncentiveTier
from targets.periods import Period
from targets.quota_selectors import tier_standing, tiers_for, tiers_visible_to
from targets.quota_services import tier_delete, tier_set

NOV = Period.parse("2026-11")


@pytest.fixture
def org_tiers(org):
    return [
        tier_set(period=NOV, threshold=3, name="Tier 1", reward="Team dinner", actor=org.admin),
        tier_set(period=NOV, threshold=5, name="Tier 2", reward="Extra day off", actor=org.admin),
        tier_set(period=NOV, threshold=8, name="Tier 3", reward="Bonus", actor=org.admin),
    ]


@pytest.mark.parametrize(
    ("value", "reached", "nxt", "gap"),
    [
        (0, None, "Tier 1", 3),
        (2, None, "Tier 1", 1),
        (3, "Tier 1", "Tier 2", 2),
        (7, "Tier 2", "Tier 3", 1),
        (8, "Tier 3", None, None),
        (12, "Tier 3", None, None),
    ],
)
def test_standing_names_the_tier_reached_and_the_gap_to_the_next(org_tiers, value, reached, nxt, gap):
    standing = tier_standing(value=value, tiers=org_tiers)

    assert (standing.reached.name if standing.reached else None) == reached
    assert (standing.next.name if standing.next else None) == nxt
    assert standing.gap == (Decimal(gap) if gap is not None else None)


def test_standing_without_tiers_has_nothing_to_reach():
    standing = tier_standing(value=4, tiers=[])
    assert standing.reached is None
    assert standing.next is None
    assert standing.gap is None


def test_team_tiers_replace_the_organisation_ones_for_that_team_and_its_sub_teams(org, org_tiers):
    tier_set(period=NOV, threshold=2, name="East starter", team=org.east, actor=org.manager)
    tier_set(period=NOV, threshold=50000, name="Big fish", measure="won_amount", actor=org.admin)

    east = tiers_for(period=NOV, team=org.east_north)
    west = tiers_for(period=NOV, team=org.west)

    assert [t.name for t in east] == ["East starter", "Big fish"]
    assert [t.name for t in west] == ["Tier 1", "Tier 2", "Tier 3", "Big fish"]
    assert tiers_for(period=NOV.next(), team=org.west) == []


def test_tier_thresholds_are_unique_and_validated(org, org_tiers):
    with pytest.raises(DomainError) as exc:
        tier_set(period=NOV, threshold=5, name="Again", actor=org.admin)
    assert "threshold" in exc.value.errors
    with pytest.raises(DomainError) as exc:
        tier_set(period=NOV, threshold="2.5", name="Half", actor=org.admin)
    assert "threshold" in exc.value.errors
    with pytest.raises(DomainError) as exc:
        tier_set(period=NOV, threshold=1, name=" ", actor=org.admin)
    assert "name" in exc.value.errors
    with pytest.raises(DomainError) as exc:
        tier_set(period=NOV, threshold=1, name="x", measure="calls", actor=org.admin)
    assert "measure" in exc.value.errors
    assert IncentiveTier.objects.count() == 3

    # the same threshold is fine for a team, and an update may keep its own threshold
    tier_set(period=NOV, threshold=5, name="East 5", team=org.east, actor=org.manager)
    updated = tier_set(period=NOV, threshold=5, name="Tier 2+", reward="Two days", tier=org_tiers[1], actor=org.admin)
    assert (updated.name, updated.reward) == ("Tier 2+", "Two days")

    tier_delete(tier=org_tiers[0], actor=org.admin)
    assert [t.name for t in tiers_for(period=NOV, team=None)] == ["Tier 2+", "Tier 3"]


def test_reps_see_organisation_tiers_and_their_teams_not_other_teams(org, org_tiers):
    tier_set(period=NOV, threshold=1, name="East", team=org.east, actor=org.manager)
    tier_set(period=NOV, threshold=1, name="West", team=org.west, actor=org.mgr_west)

    nina = set(tiers_visible_to(user=org.nina).values_list("name", flat=True))
    manager = set(tiers_visible_to(user=org.manager).values_list("name", flat=True))

    assert nina == {"Tier 1", "Tier 2", "Tier 3", "East"}
    assert manager == {"Tier 1", "Tier 2", "Tier 3", "East"}
    assert "West" in set(tiers_visible_to(user=org.admin).values_list("name", flat=True))
