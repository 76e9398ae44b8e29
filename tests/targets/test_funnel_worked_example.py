"""SPEC §3 worked example: entered 100/50/20/10/5/3 → 50/40/50/50/60 %, overall 3 %, 100 % attainment."""

from __future__ import annotations

from datetime import datetime, time, timedelta

import pytest

from targets.periods import Period, org_tz
from targets.selectors import Scope, attainment, funnel
from tests.targets.builders import DEFAULT_LADDER, STAGES, ladder, set_quotas

# Last month: fully elapsed whatever day the suite runs, so live figures are final.
NOV = Period.current().previous()
AT = datetime.combine(NOV.start + timedelta(days=9), time(10, 0), org_tz())


@pytest.fixture
def example(org, settings):  # type: ignore[no-untyped-def]
    ladder(owner=org.alice, team=org.east, counts=DEFAULT_LADDER, at=AT)
    set_quotas(user=org.alice, period=NOV)
    return org


def _assert_example(result) -> None:  # type: ignore[no-untyped-def]
    assert [s.entered for s in result.stages] == [100, 50, 20, 10, 5, 3]
    assert [s.conversion_to_next for s in result.stages] == [0.5, 0.4, 0.5, 0.5, 0.6, None]
    assert result.overall_conversion == pytest.approx(0.03)
    assert [s.attainment for s in result.stages] == [1.0] * 6


@pytest.mark.django_db
def test_worked_example_for_the_rep(example):  # type: ignore[no-untyped-def]
    result = funnel(scope=Scope.for_user(example.alice), period=NOV)

    _assert_example(result)
    assert [s.quota for s in result.stages] == DEFAULT_LADDER
    assert result.cohort_size == 100
    assert [s.cohort_share for s in result.stages] == [1.0, 0.5, 0.2, 0.1, 0.05, 0.03]


@pytest.mark.django_db
def test_worked_example_for_the_team_above(example):  # type: ignore[no-untyped-def]
    # the team's quota is the sum of its reps' (bob has none; nina in the sub-team has none)
    result = funnel(scope=Scope.for_team(example.east), period=NOV)

    _assert_example(result)
    att = attainment(scope=Scope.for_team(example.east), period=NOV)
    alice = {r.stage: r for r in att.rows if r.user == example.alice.pk}
    assert [alice[s].attainment for s in STAGES] == [1.0] * 6
    assert [att.row(None, s).entered for s in STAGES] == DEFAULT_LADDER
    assert {r.user for r in att.rows} == {example.alice.pk, example.bob.pk, example.nina.pk}
    assert all(r.entered == 0 and r.quota is None for r in att.rows if r.user == example.bob.pk)
