"""``funnel/``, ``attainment/`` and ``planner/`` over the API: the SPEC worked example, scope checks, shapes,
bad input and query counts that do not grow with the team."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from salesladder.org.models import ApiScope
from salesladder.org.services import api_token_create
from targets.periods import Period
from targets.quota_services import quota_set, template_apply
from tests.factories import TeamFactory, make_deal, rep
from tests.targets.ladder_example import ENTERED, climb_example

STAGES = ["prep", "contact", "needs", "proposal", "negotiation", "signing"]
DEFAULT = dict(zip(STAGES, [100, 50, 20, 10, 5, 3], strict=True))


def client(user=None) -> APIClient:
    c = APIClient()
    if user is not None:
        c.force_login(user)
    return c


@pytest.fixture
def period() -> Period:
    return Period.current()


@pytest.fixture
def example(org, period):
    """alice climbs 100/50/20/10/5/3 this period and has the default quotas; nobody else in East has quotas."""
    climb_example(owner=org.alice, at=period.bounds()[0] + timedelta(minutes=1))
    for stage, value in DEFAULT.items():
        quota_set(period=period, stage=stage, value=value, user=org.alice, actor=org.admin)


def _funnel(c: APIClient, **params):
    return c.get("/api/v1/funnel/", params)


@pytest.mark.parametrize("scope", ["rep", "team"])
def test_worked_example_funnel(org, example, period, scope):
    params = {"user": org.alice.pk} if scope == "rep" else {"team": org.east.pk}

    response = _funnel(client(org.manager), period=period.key, **params)

    assert response.status_code == 200
    body = response.json()
    assert body["period"] == period.key
    assert body["scope"]["type"] == ("user" if scope == "rep" else "team")
    assert body["scope"]["id"] == (org.alice.pk if scope == "rep" else org.east.pk)
    assert body["as_of"]
    assert [s["stage"] for s in body["stages"]] == STAGES
    assert [s["entered"] for s in body["stages"]] == ENTERED
    assert [s["conversion_to_next"] for s in body["stages"]] == [0.5, 0.4, 0.5, 0.5, 0.6, None]
    assert body["overall_conversion"] == pytest.approx(0.03)
    assert [s["attainment"] for s in body["stages"]] == [1.0] * 6
    assert [s["quota"] for s in body["stages"]] == list(DEFAULT.values())


@pytest.mark.parametrize("scope", ["rep", "team"])
def test_worked_example_attainment_is_100_percent_against_the_default_quotas(org, example, period, scope):
    params = {"user": org.alice.pk} if scope == "rep" else {"team": org.east.pk}

    response = client(org.manager).get("/api/v1/attainment/", {"period": period.key, **params})

    assert response.status_code == 200
    body = response.json()
    assert body["period"] == period.key
    alice_rows = [r for r in body["rows"] if r["user"] == org.alice.pk]
    assert [(r["stage"], r["quota"], r["entered"], r["attainment"]) for r in alice_rows] == [
        (s, DEFAULT[s], n, 1.0) for s, n in zip(STAGES, ENTERED, strict=True)
    ]
    assert [r["attainment"] for r in body["totals"]] == [1.0] * 6
    if scope == "team":
        assert {r["user_label"] for r in body["rows"]} == {"alice", "bob", "nina"}
        bob = [r for r in body["rows"] if r["user"] == org.bob.pk]
        assert [(r["quota"], r["entered"], r["attainment"]) for r in bob] == [(None, 0, None)] * 6


def test_default_scope_is_the_caller_or_the_organisation_for_admins(org, example, period):
    mine = _funnel(client(org.alice)).json()
    assert (mine["scope"]["type"], mine["scope"]["id"], mine["period"]) == ("user", org.alice.pk, period.key)
    assert mine["stages"][0]["entered"] == 100

    everything = _funnel(client(org.admin)).json()
    assert (everything["scope"]["type"], everything["scope"]["id"]) == ("org", 0)
    assert everything["stages"][0]["entered"] == 100


def test_a_manager_without_team_or_user_gets_the_team_they_lead(org, example, period):
    """Not their own (empty) rep funnel: East's manager gets East (with East North), East North's its team."""
    east = _funnel(client(org.manager)).json()
    assert (east["scope"]["type"], east["scope"]["id"]) == ("team", org.east.pk)
    assert east["stages"][0]["entered"] == 100  # alice's deals
    attainment = client(org.manager).get("/api/v1/attainment/", {"period": period.key}).json()
    assert (attainment["scope"]["type"], attainment["scope"]["id"]) == ("team", org.east.pk)
    north = _funnel(client(org.north_manager)).json()
    assert (north["scope"]["type"], north["scope"]["id"]) == ("team", org.east_north.pk)


def test_a_manager_of_teams_side_by_side_gets_their_own_figures_by_default(org, example, period):
    from salesladder.org.models import Membership, Role

    Membership.objects.create(user=org.mgr_west, team=TeamFactory(name="South"), role=Role.MANAGER)
    mine = _funnel(client(org.mgr_west)).json()
    assert (mine["scope"]["type"], mine["scope"]["id"]) == ("user", org.mgr_west.pk)


@pytest.mark.parametrize(
    ("caller", "params", "expected"),
    [
        ("alice", {"user": "alice"}, 200),
        ("alice", {"user": "bob"}, 404),
        ("alice", {"team": "east"}, 404),
        ("manager", {"team": "east"}, 200),
        ("manager", {"team": "east_north"}, 200),
        ("manager", {"user": "nina"}, 200),
        ("manager", {"team": "west"}, 404),
        ("manager", {"user": "dave"}, 404),
        ("north_manager", {"team": "east"}, 404),
        ("north_manager", {"user": "alice"}, 404),
        ("mgr_west", {"team": "east"}, 404),
        ("admin", {"team": "west"}, 200),
        ("admin", {"user": "alice"}, 200),
        (None, {}, 401),
    ],
)
@pytest.mark.parametrize("endpoint", ["funnel", "attainment", "planner"])
def test_scope_matrix(org, period, endpoint, caller, params, expected):
    teams = {"east": org.east, "east_north": org.east_north, "west": org.west}
    query = {"period": period.key}
    if endpoint == "planner":
        query["signings"] = 3
    for key, name in params.items():
        query[key] = teams[name].pk if key == "team" else getattr(org, name).pk

    response = client(getattr(org, caller) if caller else None).get(f"/api/v1/{endpoint}/", query)

    if caller is None:
        assert response.status_code == 401
    else:
        assert response.status_code == expected
    if expected == 404:
        assert set(response.json()["errors"]) & {"team", "user"}


def test_analytics_need_a_read_scope_on_tokens(org, example):
    _t, read_key = api_token_create(user=org.manager, name="BI", scopes=[ApiScope.DEALS_READ])
    _t, leads_key = api_token_create(user=org.manager, name="Forms", scopes=[ApiScope.LEADS_WRITE])
    read, leads = APIClient(), APIClient()
    read.credentials(HTTP_AUTHORIZATION=f"Bearer {read_key}")
    leads.credentials(HTTP_AUTHORIZATION=f"Bearer {leads_key}")

    assert read.get("/api/v1/funnel/", {"team": org.east.pk}).status_code == 200
    assert leads.get("/api/v1/funnel/", {"team": org.east.pk}).status_code == 403
    assert leads.get("/api/v1/attainment/", {"team": org.east.pk}).status_code == 403


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"period": "2026-13"}, "period"),
        ({"period": "0000-01"}, "period"),
        ({"as_of": "not-a-date"}, "as_of"),
        ({"as_of": "9999-12-31"}, "as_of"),
        ({"team": "abc"}, "team"),
        ({"team": "1", "user": "1"}, "team"),
    ],
)
@pytest.mark.parametrize("endpoint", ["funnel", "attainment"])
def test_bad_parameters_are_field_errors(org, endpoint, params, field):
    response = client(org.admin).get(f"/api/v1/{endpoint}/", params)

    assert response.status_code == 400
    assert field in response.json()["errors"]


def test_huge_ids_are_not_found_not_a_crash(org):
    response = client(org.admin).get("/api/v1/funnel/", {"team": "9" * 30})
    assert response.status_code == 400  # beyond the documented maximum
    assert "team" in response.json()["errors"]
    response = client(org.admin).get("/api/v1/funnel/", {"team": 2**62})
    assert response.status_code == 404
    response = client(org.admin).get("/api/v1/attainment/", {"user": "9" * 30})
    assert response.status_code == 404


def test_as_of_a_past_day_without_snapshot_is_404(org, period):
    response = client(org.admin).get(
        "/api/v1/funnel/", {"period": period.previous().key, "as_of": period.previous().start.isoformat()}
    )
    assert response.status_code == 404
    assert "as_of" in response.json()["errors"]


def test_planner_answers_the_back_plan_with_warnings(org):
    period = Period.current()
    climb_example(owner=org.alice, at=period.previous().bounds()[0] + timedelta(days=3))
    template_apply(period=period, team=org.east, actor=org.admin)

    response = client(org.alice).get("/api/v1/planner/", {"signings": 6})

    assert response.status_code == 200
    body = response.json()
    assert body["scope"]["id"] == org.alice.pk
    assert [n["needed"] for n in body["needs"]] == [200, 100, 40, 20, 10, 6]
    assert [r["rate"] for r in body["rates"]] == [0.5, 0.4, 0.5, 0.5, 0.6]
    assert body["overall_rate"] == pytest.approx(0.03)
    assert body["warnings"] == []

    by_quota = client(org.alice).get("/api/v1/planner/").json()  # the signing quota (3) is the goal
    assert by_quota["signings"] == 3
    assert by_quota["needs"][0] == {"stage": "prep", "needed": 100, "quota": 100}

    empty = client(org.manager).get("/api/v1/planner/", {"team": org.east_north.pk, "signings": 6}).json()
    assert [w["code"] for w in empty["warnings"]] == ["no_history"]
    assert empty["needs"][0]["needed"] == 200

    no_goal = client(org.dave).get("/api/v1/planner/")
    assert no_goal.status_code == 400
    assert "signings" in no_goal.json()["errors"]
    bad = client(org.alice).get("/api/v1/planner/", {"signings": -1, "periods_back": 99})
    assert bad.status_code == 400
    assert {"signings", "periods_back"} <= set(bad.json()["errors"])


def _team_of(n: int, name: str, period: Period):
    team = TeamFactory(name=name)
    reps = [rep(team, username=f"{name}-{i}") for i in range(n)]
    template_apply(period=period, team=team, actor=None)
    at = period.bounds()[0] + timedelta(minutes=1)
    for user in reps:
        make_deal(owner=user, stage="contact", at=at)
    return team


@pytest.mark.parametrize("endpoint", ["funnel", "attainment", "planner", "tiers/standings"])
def test_query_count_does_not_depend_on_team_size(org, endpoint):
    period = Period.current()
    small, large = _team_of(5, "small", period), _team_of(30, "large", period)
    c = client(org.admin)
    counts = []
    for team in (small, large):
        c.get(f"/api/v1/{endpoint}/", {"team": team.pk, "signings": 3})  # warm the session
        with CaptureQueriesContext(connection) as ctx:
            response = c.get(f"/api/v1/{endpoint}/", {"team": team.pk, "signings": 3})
        assert response.status_code == 200
        counts.append(len(ctx.captured_queries))

    assert counts[0] == counts[1]
    assert counts[1] <= 15


def test_attainment_rows_cover_thirty_reps_in_constant_queries(org, django_assert_max_num_queries):
    period = Period.current()
    team = _team_of(30, "big", period)
    c = client(org.admin)

    with django_assert_max_num_queries(12):
        body = c.get("/api/v1/attainment/", {"team": team.pk}).json()

    assert len(body["rows"]) == 30 * 6
    contact = [r for r in body["rows"] if r["stage"] == "contact"]
    assert {(r["quota"], r["entered"], r["attainment"]) for r in contact} == {(50, 1, 0.02)}
