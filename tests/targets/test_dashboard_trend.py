from datetime import datetime, time, timedelta

from targets.dashboard import team_trend
from targets.periods import Period, org_tz
from targets.selectors import Scope, funnel
from tests.targets.builders import ladder


def test_trend_in_one_query_equals_the_funnel_of_each_period(org, django_assert_max_num_queries):
    # given: different ladders in three earlier months, one of them in a sub-team, one at the last minute
    current = Period.current()
    months = current.last(4)[:3]
    for shape, (owner, team), month in zip(
        ([10, 5, 2, 1, 0, 0], [6, 3, 3, 1, 1, 1], [4, 2, 1, 0, 0, 0]),
        ((org.alice, org.east), (org.nina, org.east_north), (org.bob, org.east)),
        months,
        strict=True,
    ):
        last_minute = datetime.combine(month.end, time.min, org_tz()) - timedelta(minutes=1)
        ladder(owner=owner, team=team, counts=shape, at=last_minute)
    team_ids = {org.east.pk, org.east_north.pk}

    # when
    with django_assert_max_num_queries(1):
        trend = team_trend(team=org.east, team_ids=team_ids, period=current)

    # then
    assert [row.period for row in trend] == current.last(6)
    for row in trend:
        expected = {s.stage: s.entered for s in funnel(scope=Scope.for_team(org.east), period=row.period).stages}
        assert row.entered == expected, row.period
    assert [row.entered["prep"] for row in trend] == [0, 0, 10, 6, 4, 0]
