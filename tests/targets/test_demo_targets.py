"""The demo hook: "Demo ladder" quotas for every rep over eight months, and three reward tiers a month."""

from __future__ import annotations

from datetime import date

from targets.demo import seed_demo_targets
from targets.models import IncentiveTier, Quota, QuotaTemplate
from targets.periods import Period
from targets.quota_selectors import quota_for
from targets.selectors.scope import Scope


def test_seed_demo_targets_is_complete_and_idempotent(org):
    seed_demo_targets(anchor=date(2026, 11, 15))
    seed_demo_targets(anchor=date(2026, 11, 15))

    months = sorted(set(Quota.objects.values_list("period", flat=True)))
    assert months == ["2026-05", "2026-06", "2026-07", "2026-08", "2026-09", "2026-10", "2026-11", "2026-12"]
    assert Quota.objects.count() == 8 * 4 * 6  # alice, bob, nina, dave
    # sized to the demo's volume (about a fifth of the source ladder), one template however often seeded
    ladder = quota_for(scope=Scope.for_user(org.nina), period=Period.parse("2026-12"))
    assert [ladder[s] for s in ("prep", "contact", "needs", "proposal", "negotiation", "signing")] == [
        20,
        12,
        5,
        3,
        2,
        1,
    ]
    assert QuotaTemplate.objects.filter(name="Demo ladder", is_default=False).count() == 1
    default = QuotaTemplate.objects.get(is_default=True)
    assert sorted(default.lines.values_list("value", flat=True)) == [3, 5, 10, 20, 50, 100]
    tiers = IncentiveTier.objects.filter(period="2026-11").order_by("threshold")
    assert [(int(t.threshold), t.name) for t in tiers] == [(3, "Tier 1"), (5, "Tier 2"), (8, "Tier 3")]
    assert all(t.reward for t in tiers)
    assert IncentiveTier.objects.count() == 8 * 3
