"""The ladder planner: back-planning from a signing goal, its fallbacks and warnings."""

from __future__ import annotations

from datetime import datetime
from fractions import Fraction

import pytest

from salesladder.errors import DomainError
from targets.periods import Period, org_tz
from targets.planner import default_rates, plan
from targets.quota_services import quota_set, template_apply
from targets.selectors.scope import Scope
from tests.factories import make_deal
from tests.targets.ladder_example import climb_example

NOV = Period.parse("2026-11")
OCT_15 = datetime(2026, 10, 15, 11, 0, tzinfo=org_tz())


def test_six_signings_at_the_example_rates_need_200_prospects(org):
    climb_example(owner=org.alice, at=OCT_15)

    result = plan(scope=Scope.for_user(org.alice), signings=6, period=NOV)

    assert [h.key for h in result.history] == ["2026-08", "2026-09", "2026-10"]
    assert [r.rate for r in result.rates] == [
        Fraction(1, 2),
        Fraction(2, 5),
        Fraction(1, 2),
        Fraction(1, 2),
        Fraction(3, 5),
    ]
    assert {r.source for r in result.rates} == {"observed"}
    assert result.needs == {"prep": 200, "contact": 100, "needs": 40, "proposal": 20, "negotiation": 10, "signing": 6}
    assert result.overall_rate == Fraction(3, 100)
    assert result.warnings == []


def test_team_plan_uses_the_team_history_including_sub_teams(org):
    climb_example(owner=org.nina, at=OCT_15)  # nina is in East North, under East

    east = plan(scope=Scope.for_team(org.east), signings=3, period=NOV)
    west = plan(scope=Scope.for_team(org.west), signings=3, period=NOV)

    assert east.needs["prep"] == 100
    assert [w.code for w in east.warnings] == []
    assert [w.code for w in west.warnings] == ["no_history"]


def test_no_history_falls_back_to_the_default_template_rates(org):
    result = plan(scope=Scope.for_user(org.bob), signings=6, period=NOV)

    assert {r.source for r in result.rates} == {"default"}
    assert default_rates()["contact"] == Fraction(2, 5)
    assert result.needs["prep"] == 200
    assert [w.code for w in result.warnings] == ["no_history"]


def test_a_rung_that_never_converted_is_flagged_and_planned_at_the_default(org):
    for _ in range(4):
        make_deal(owner=org.bob, stage="contact", at=OCT_15)

    result = plan(scope=Scope.for_user(org.bob), signings=3, period=NOV)

    by_stage = {r.stage: r for r in result.rates}
    assert by_stage["prep"].rate == 1
    assert by_stage["prep"].source == "observed"
    assert by_stage["contact"].source == "default"
    codes = [(w.code, w.stage) for w in result.warnings]
    assert ("zero_rate", "contact") in codes
    assert ("no_data", "needs") in codes
    assert "0 %" in next(w.message for w in result.warnings if w.code == "zero_rate")


def test_a_quota_ladder_that_cannot_add_up_is_a_warning(org):
    climb_example(owner=org.alice, at=OCT_15)
    template_apply(period=NOV, team=org.east, actor=org.manager)
    quota_set(period=NOV, stage="proposal", value=10, user=org.alice, actor=org.manager)
    quota_set(period=NOV, stage="needs", value=20, user=org.alice, actor=org.manager)
    quota_set(period=NOV, stage="contact", value=40, user=org.alice, actor=org.manager)

    result = plan(scope=Scope.for_user(org.alice), signings=3, period=NOV)

    # 40 contacts at 40 % feed 16 needs, not 20
    assert [(f.code, f.stage, f.max_next) for f in result.ladder_flags] == [("unreachable", "contact", 16)]
    assert [w.code for w in result.warnings] == ["ladder"]


def test_history_outside_the_window_is_ignored(org):
    climb_example(owner=org.alice, at=datetime(2026, 11, 2, 9, 0, tzinfo=org_tz()))  # the planned month itself

    result = plan(scope=Scope.for_user(org.alice), signings=3, period=NOV, periods_back=1)

    assert [w.code for w in result.warnings] == ["no_history"]


@pytest.mark.parametrize(
    ("signings", "periods_back", "field"), [(-1, 3, "signings"), (3, 0, "periods_back"), (3, 99, "periods_back")]
)
def test_bad_planner_input_is_a_field_error(org, signings, periods_back, field):
    with pytest.raises(DomainError) as exc:
        plan(scope=Scope.for_user(org.alice), signings=signings, periods_back=periods_back, period=NOV)
    assert field in exc.value.errors
