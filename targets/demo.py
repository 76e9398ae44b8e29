"""Demo targets for ``manage.py seed_demo``: quotas for every rep and reward tiers.

The demo's volume is about a fifth of the source document's ladder (100/50/20/10/5/3 a month per rep),
so the reps get a custom "Demo ladder" template sized to it (the default ladder stays available on the
targets page); attainment then shows a realistic mix of on-track, behind and at-risk cells.
Covers the anchor's month, the six before it and the next month. Idempotent: running it again rewrites
the same cells and keeps the existing template and tiers.
"""

from __future__ import annotations

from datetime import date

from salesladder.org.models import Team
from salesladder.org.selectors import team_member_ids
from targets.models import IncentiveTier, QuotaTemplate, TierMeasure
from targets.periods import Period
from targets.quota_services import template_apply, template_create, tier_set

DEMO_TIERS = [
    (3, "Tier 1", "Team dinner of your choice"),
    (5, "Tier 2", "A paid day off and a team dinner"),
    (8, "Tier 3", "Quarterly bonus of 5,000 and a paid day off"),
]
MONTHS_BACK = 7
DEMO_LADDER_NAME = "Demo ladder"
DEMO_LADDER = {"prep": 20, "contact": 12, "needs": 5, "proposal": 3, "negotiation": 2, "signing": 1}


def demo_periods(anchor: date) -> list[Period]:
    current = Period.month_of(anchor)
    return [*current.last(MONTHS_BACK), current.next()]


def demo_ladder() -> QuotaTemplate:
    existing = QuotaTemplate.objects.filter(name=DEMO_LADDER_NAME, is_default=False).first()
    return existing or template_create(name=DEMO_LADDER_NAME, lines=DEMO_LADDER, actor=None)


def seed_demo_targets(*, anchor: date) -> None:
    roots = [team for team in Team.objects.filter(parent__isnull=True) if team_member_ids(team=team)]
    ladder = demo_ladder()
    for period in demo_periods(anchor):
        for team in roots:
            template_apply(period=period, team=team, template=ladder, actor=None)
        existing = set(
            IncentiveTier.objects.filter(
                period=period.key, team__isnull=True, measure=TierMeasure.SIGNINGS
            ).values_list("threshold", flat=True)
        )
        for threshold, name, reward in DEMO_TIERS:
            if threshold not in existing:
                tier_set(period=period, threshold=threshold, name=name, reward=reward, actor=None)
