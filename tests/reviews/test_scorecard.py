"""The frozen scorecard says exactly what the targets services say for the same rep and period."""

from __future__ import annotations

from statistics import median

from pipeline.models import Stage
from reviews.models import Review
from reviews.scorecard import SCORECARD_SCHEMA_VERSION, scorecard_render, scorecards_build
from reviews.services import review_drafts_create
from targets.periods import org_today
from targets.selectors import Scope, attainment, funnel, outcomes, stale_deals
from tests.factories import make_deal


def test_scorecard_numbers_equal_the_targets_services(org, busy_month):
    # given
    period, today = busy_month, org_today()
    scope = Scope.for_user(org.alice)

    # when
    card = scorecards_build(team=org.east, period=period, as_of=today, user_ids=[org.alice.pk])[org.alice.pk]

    # then: funnel and attainment
    f = funnel(scope=scope, period=period)
    a = attainment(scope=scope, period=period)
    assert [(r["stage"], r["entered"], r["quota"]) for r in card["stages"]] == [
        (s.stage, s.entered, s.quota) for s in f.stages
    ]
    assert [r["conversion_to_next"] for r in card["stages"]] == [s.conversion_to_next for s in f.stages]
    assert card["overall_conversion"] == f.overall_conversion
    for row in card["stages"]:
        expected = a.row(org.alice.pk, row["stage"])
        assert (row["attainment"], row["pace"], row["pace_status"]) == (
            expected.attainment,
            expected.pace,
            expected.pace_status,
        )
    assert card["pace"]["elapsed_share"] == a.elapsed_share
    # outcomes
    o = outcomes(scope=scope, period=period)
    assert card["outcomes"] == {
        "won_count": o.won_count,
        "won_amount": str(o.won_amount),
        "lost_count": o.lost_count,
        "win_rate": o.win_rate,
        "lost_reasons": o.lost_reasons,
    }
    assert (o.won_count, o.lost_count, o.lost_reasons) == (1, 2, {"price": 1, "timing": 1})
    # stale deals
    assert card["stale_deals"]["count"] == stale_deals(scope=scope).count() == 1
    assert [d["id"] for d in card["stale_deals"]["deals"]] == list(
        stale_deals(scope=scope).values_list("pk", flat=True)
    )
    # activities, tier
    assert card["activities"]["by_kind"]["call"] == 2
    assert card["activities"]["by_kind"]["meeting"] == 1
    assert card["activities"]["total"] == 3
    assert card["tiers"] == [
        {
            "measure": "signings",
            "value": "1",
            "reached": {"name": "Bronze", "threshold": "1.00", "reward": ""},
            "next": {"name": "Silver", "threshold": "3.00", "reward": ""},
            "gap_to_next": "2.00",
        }
    ]


def test_conversions_are_compared_with_the_median_over_the_teams_reps(org, busy_month):
    period = busy_month

    card = scorecards_build(team=org.east, period=period, as_of=org_today(), user_ids=[org.alice.pk])[org.alice.pk]

    for i, row in enumerate(card["stages"][:-1]):
        rates = [
            funnel(scope=Scope.for_user(u), period=period).stages[i].conversion_to_next for u in (org.alice, org.bob)
        ]
        present = [r for r in rates if r is not None]
        assert row["team_median_conversion"] == (median(present) if present else None)
    assert card["stages"][0]["team_median_conversion"] is not None


def test_the_draft_freezes_the_scorecard(org, busy_month):
    period = busy_month

    review_drafts_create(period=period, as_of=org_today())
    make_deal(owner=org.alice, stage=Stage.SIGNING)

    card = Review.objects.get(user=org.alice, period=period.key).scorecard
    assert card["schema_version"] == SCORECARD_SCHEMA_VERSION
    assert card["outcomes"]["won_count"] == 1


def test_scorecard_query_count_does_not_grow_with_team_size(org, busy_month, django_assert_max_num_queries):
    from tests.factories import rep

    many = [rep(org.east, username=f"extra{i}") for i in range(10)]
    ids = [org.alice.pk, org.bob.pk, *(u.pk for u in many)]

    with django_assert_max_num_queries(12):
        cards = scorecards_build(team=org.east, period=busy_month, as_of=org_today(), user_ids=ids)

    assert len(cards) == 12


def test_old_scorecards_keep_rendering():
    legacy = {"period": "2025-01", "entered": {"prep": 80, "signing": 2}, "quota": {"prep": 100, "signing": 3}}

    rendered = scorecard_render(legacy)

    assert rendered["schema_version"] == SCORECARD_SCHEMA_VERSION
    assert rendered["stages"][0] == {
        "stage": "prep",
        "entered": 80,
        "quota": 100,
        "attainment": 0.8,
        "pace": None,
        "pace_status": None,
        "conversion_to_next": None,
        "team_median_conversion": None,
    }
    assert rendered["stages"][-1]["entered"] == 2
    assert rendered["outcomes"]["won_amount"] == "0"
    current = {"schema_version": 1, "stages": [{"stage": "prep", "entered": 1}]}
    assert scorecard_render(current) is current
