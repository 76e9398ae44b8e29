"""``periods/``, ``targets/`` (+ grid, apply-template, copy-previous), ``templates/`` and ``tiers/`` over the API."""

from __future__ import annotations

from datetime import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from salesladder.org.models import ApiScope
from salesladder.org.services import api_token_create
from targets.models import IncentiveTier, Quota, QuotaTemplate
from targets.periods import Period, org_tz
from targets.quota_services import quota_set, template_apply, tier_set
from tests.factories import make_deal

NOV = "2026-11"
DEFAULT = {"prep": 100, "contact": 50, "needs": 20, "proposal": 10, "negotiation": 5, "signing": 3}


def client(user=None) -> APIClient:
    c = APIClient()
    if user is not None:
        c.force_login(user)
    return c


# --- periods -----------------------------------------------------------------------------------


def test_periods_list_current_previous_and_next_with_inclusive_ends(org):
    response = client(org.alice).get("/api/v1/periods/", {"kind": "month"})

    assert response.status_code == 200
    items = response.json()
    current = Period.current()
    keys = [p["key"] for p in items]
    assert current.key in keys
    assert current.previous().key in keys
    assert current.next().key in keys
    assert {p["kind"] for p in items} == {"month"}
    assert [p["key"] for p in items if p["is_current"]] == [current.key]


def test_period_detail_and_bad_keys(org):
    c = client(org.alice)

    week = c.get("/api/v1/periods/2026-W48/")
    assert week.status_code == 200
    assert week.json() == {
        "key": "2026-W48",
        "kind": "week",
        "start": "2026-11-23",
        "end": "2026-11-29",
        "days": 7,
        "is_current": week.json()["is_current"],
        "previous": "2026-W47",
        "next": "2026-W49",
    }
    assert c.get("/api/v1/periods/2026-Q4/").json()["end"] == "2026-12-31"

    for bad in ["2026-13", "nonsense", "9999-12", "2026-W54"]:
        response = c.get(f"/api/v1/periods/{bad}/")
        assert response.status_code == 400, bad
        assert "period" in response.json()["errors"]
    assert c.get("/api/v1/periods/", {"kind": "year"}).status_code == 400


# --- quotas: permission matrix -------------------------------------------------------------------


@pytest.fixture
def quotas(org):
    template_apply(period=NOV, team=org.east, actor=org.admin)
    template_apply(period=NOV, team=org.west, actor=org.admin)
    quota_set(period=NOV, stage="prep", value=400, team=org.east, actor=org.admin)


def _owners(response) -> set[str]:
    return {row["username"] or row["team_name"] for row in response.json()["results"]}


def test_who_reads_which_quotas(org, quotas):
    assert _owners(client(org.alice).get("/api/v1/targets/", {"page_size": 500})) == {"alice"}
    assert _owners(client(org.manager).get("/api/v1/targets/", {"page_size": 500})) == {"alice", "bob", "nina", "East"}
    assert _owners(client(org.north_manager).get("/api/v1/targets/", {"page_size": 500})) == {"nina"}
    assert _owners(client(org.mgr_west).get("/api/v1/targets/", {"page_size": 500})) == {"dave"}
    assert _owners(client(org.admin).get("/api/v1/targets/", {"page_size": 500})) == {
        "alice",
        "bob",
        "nina",
        "dave",
        "East",
    }
    assert client().get("/api/v1/targets/").status_code == 401


def test_quota_filters(org, quotas):
    c = client(org.manager)

    rows = c.get("/api/v1/targets/", {"period": NOV, "user": org.bob.pk, "stage": ["prep", "signing"]}).json()
    assert sorted((r["stage"], r["value"]) for r in rows["results"]) == [("prep", 100), ("signing", 3)]
    assert c.get("/api/v1/targets/", {"period": "2026-10"}).json()["count"] == 0
    assert c.get("/api/v1/targets/", {"team": org.east.pk}).json()["count"] == 1
    bad = c.get("/api/v1/targets/", {"period": "2026-99", "stage": "nope"})
    assert bad.status_code == 400
    assert set(bad.json()["errors"]) == {"period", "stage"}


def test_manager_writes_their_reps_quotas_and_nobody_elses(org, quotas):
    manager = client(org.manager)

    created = manager.post("/api/v1/targets/", {"period": "2026-12", "user": org.nina.pk, "stage": "prep", "value": 90})
    again = manager.post("/api/v1/targets/", {"period": "2026-12", "user": org.nina.pk, "stage": "prep", "value": 95})
    assert (created.status_code, again.status_code) == (201, 200)
    assert created.json()["id"] == again.json()["id"]
    assert Quota.objects.get(period="2026-12", user=org.nina, stage="prep").value == 95

    other = manager.post("/api/v1/targets/", {"period": "2026-12", "user": org.dave.pk, "stage": "prep", "value": 1})
    assert other.status_code == 400
    assert "user" in other.json()["errors"]

    dave_row = Quota.objects.get(period=NOV, user=org.dave, stage="prep")
    assert manager.patch(f"/api/v1/targets/{dave_row.pk}/", {"value": 1}).status_code == 404
    assert manager.delete(f"/api/v1/targets/{dave_row.pk}/").status_code == 404

    alice_row = Quota.objects.get(period=NOV, user=org.alice, stage="prep")
    patched = manager.patch(f"/api/v1/targets/{alice_row.pk}/", {"value": 120})
    assert patched.status_code == 200
    assert patched.json()["value"] == 120
    assert manager.delete(f"/api/v1/targets/{alice_row.pk}/").status_code == 204
    assert not Quota.objects.filter(pk=alice_row.pk).exists()


def test_rep_reads_but_cannot_write_their_own_quota(org, quotas):
    alice = client(org.alice)
    row = Quota.objects.get(period=NOV, user=org.alice, stage="prep")

    assert alice.get(f"/api/v1/targets/{row.pk}/").json()["value"] == 100
    assert alice.patch(f"/api/v1/targets/{row.pk}/", {"value": 1}).status_code == 403
    response = alice.post("/api/v1/targets/", {"period": NOV, "user": org.alice.pk, "stage": "prep", "value": 1})
    assert response.status_code == 403
    assert Quota.objects.get(pk=row.pk).value == 100


def test_quota_write_validation(org):
    manager = client(org.manager)

    response = manager.post(
        "/api/v1/targets/", {"period": "2026-13", "user": org.alice.pk, "team": org.east.pk, "stage": "x", "value": -1}
    )

    assert response.status_code == 400
    assert {"period", "stage", "value"} <= set(response.json()["errors"])
    both = manager.post(
        "/api/v1/targets/", {"period": NOV, "user": org.alice.pk, "team": org.east.pk, "stage": "prep", "value": 1}
    )
    assert both.status_code == 400
    assert not Quota.objects.exists()


def test_read_only_token_reads_but_cannot_write(org, quotas):
    _token, key = api_token_create(user=org.manager, name="BI", scopes=[ApiScope.DEALS_READ])
    c = APIClient()
    c.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")

    assert c.get("/api/v1/targets/").status_code == 200
    response = c.post("/api/v1/targets/", {"period": NOV, "user": org.alice.pk, "stage": "prep", "value": 1})
    assert response.status_code == 403


# --- grid, apply-template, copy-previous -------------------------------------------------------


def test_grid_read_and_write_all_or_nothing(org, quotas):
    manager = client(org.manager)

    grid = manager.get("/api/v1/targets/grid/", {"period": NOV, "team": org.east.pk}).json()
    assert [r["username"] for r in grid["rows"]] == ["alice", "bob", "nina"]
    assert grid["rows"][0]["quotas"] == DEFAULT

    bad = manager.post(
        "/api/v1/targets/grid/",
        {"period": NOV, "team": org.east.pk, "grid": {str(org.alice.pk): {"prep": 1}, str(org.bob.pk): {"prep": -5}}},
    )
    assert bad.status_code == 400
    assert list(bad.json()["errors"]) == [f"{org.bob.pk}.prep"]
    assert Quota.objects.get(period=NOV, user=org.alice, stage="prep").value == 100

    ok = manager.post(
        "/api/v1/targets/grid/",
        {"period": NOV, "team": org.east.pk, "grid": {str(org.alice.pk): {"prep": 1, "signing": None}}},
    )
    assert ok.status_code == 200
    assert ok.json()["rows"][0]["quotas"]["prep"] == 1
    assert ok.json()["rows"][0]["quotas"]["signing"] is None

    west = manager.get("/api/v1/targets/grid/", {"period": NOV, "team": org.west.pk})
    assert west.status_code == 400
    assert "team" in west.json()["errors"]


def test_apply_template_and_copy_previous(org):
    manager = client(org.manager)
    custom = QuotaTemplate.objects.create(name="Light")
    custom.lines.create(stage="prep", value=40)

    default = manager.post("/api/v1/targets/apply-template/", {"period": NOV, "team": org.east.pk})
    assert default.status_code == 200
    assert {r["username"]: r["quotas"] for r in default.json()["rows"]}["nina"] == DEFAULT

    light = manager.post(
        "/api/v1/targets/apply-template/", {"period": NOV, "team": org.east_north.pk, "template": custom.pk}
    )
    assert light.json()["rows"][0]["quotas"]["prep"] == 40

    copied = manager.post("/api/v1/targets/copy-previous/", {"period": "2026-12", "team": org.east.pk})
    assert copied.status_code == 200
    assert copied.json()["copied"] == 18
    assert Quota.objects.get(period="2026-12", user=org.nina, stage="prep").value == 40

    empty = manager.post("/api/v1/targets/copy-previous/", {"period": "2026-09", "team": org.east.pk})
    assert empty.status_code == 400
    assert "period" in empty.json()["errors"]

    rep = client(org.alice).post("/api/v1/targets/apply-template/", {"period": NOV, "team": org.east.pk})
    assert rep.status_code == 403
    other = client(org.mgr_west).post("/api/v1/targets/apply-template/", {"period": NOV, "team": org.east.pk})
    assert other.status_code == 400
    week = manager.post("/api/v1/targets/apply-template/", {"period": "2026-W48", "team": org.east.pk})
    assert week.status_code == 400
    assert "template" in week.json()["errors"]


# --- templates ---------------------------------------------------------------------------------


def test_templates_crud_and_permissions(org):
    default_id = QuotaTemplate.objects.get(is_default=True).pk
    listed = client(org.alice).get("/api/v1/templates/").json()["results"]
    assert listed[0]["is_default"] is True
    assert [(line["stage"], line["value"]) for line in listed[0]["lines"]] == list(DEFAULT.items())

    body = {"name": "Farmers", "lines": [{"stage": "prep", "value": 60}, {"stage": "signing", "value": 2}]}
    assert client(org.alice).post("/api/v1/templates/", body).status_code == 403
    created = client(org.manager).post("/api/v1/templates/", body)
    assert created.status_code == 201
    template_id = created.json()["id"]

    patched = client(org.manager).patch(
        f"/api/v1/templates/{template_id}/", {"lines": [{"stage": "prep", "value": 70}]}
    )
    assert patched.json()["lines"] == [{"stage": "prep", "value": 70}]
    assert client(org.manager).patch(f"/api/v1/templates/{default_id}/", {"name": "Mine"}).status_code == 403
    assert client(org.admin).delete(f"/api/v1/templates/{default_id}/").status_code == 400
    assert client(org.manager).delete(f"/api/v1/templates/{template_id}/").status_code == 204

    bad = client(org.manager).post("/api/v1/templates/", {"name": "", "lines": [{"stage": "zzz", "value": 1}]})
    assert bad.status_code == 400
    assert set(bad.json()["errors"]) == {"name", "lines.0.stage"}  # nested errors come back flat
    empty = client(org.manager).post("/api/v1/templates/", {"name": "Empty", "lines": []})
    assert empty.json()["errors"] == {"lines": ["This list may not be empty."]}


# --- tiers -------------------------------------------------------------------------------------


@pytest.fixture
def tiers(org):
    for threshold, name in [(3, "Tier 1"), (5, "Tier 2"), (8, "Tier 3")]:
        tier_set(period=NOV, threshold=threshold, name=name, reward=f"Reward {name}", actor=org.admin)


def test_tiers_crud_and_permissions(org, tiers):
    manager = client(org.manager)

    assert manager.post("/api/v1/tiers/", {"period": NOV, "threshold": 1, "name": "Org"}).status_code == 403
    created = manager.post("/api/v1/tiers/", {"period": NOV, "team": org.east.pk, "threshold": 2, "name": "East 1"})
    assert created.status_code == 201
    assert client(org.mgr_west).patch(f"/api/v1/tiers/{created.json()['id']}/", {"name": "x"}).status_code == 404
    assert client(org.alice).patch(f"/api/v1/tiers/{created.json()['id']}/", {"name": "x"}).status_code == 403
    renamed = manager.patch(f"/api/v1/tiers/{created.json()['id']}/", {"name": "East starter"})
    assert renamed.json()["name"] == "East starter"

    dup = client(org.admin).post("/api/v1/tiers/", {"period": NOV, "threshold": "5", "name": "Again"})
    assert dup.status_code == 400
    assert "threshold" in dup.json()["errors"]

    names = [t["name"] for t in client(org.alice).get("/api/v1/tiers/", {"period": NOV}).json()["results"]]
    assert names == ["East starter", "Tier 1", "Tier 2", "Tier 3"]
    assert client(org.dave).get("/api/v1/tiers/", {"period": NOV}).json()["count"] == 3
    org_only = client(org.alice).get("/api/v1/tiers/", {"period": NOV, "organisation": "true"}).json()
    assert org_only["count"] == 3

    tier1 = IncentiveTier.objects.get(name="Tier 1")
    assert manager.delete(f"/api/v1/tiers/{tier1.pk}/").status_code == 403
    assert client(org.admin).delete(f"/api/v1/tiers/{tier1.pk}/").status_code == 204


def test_tier_standings_per_rep_with_gap(org, tiers):
    oct_31 = datetime(2026, 11, 10, 10, 0, tzinfo=org_tz())
    for _ in range(5):
        make_deal(owner=org.alice, stage="signing", at=oct_31)
    for _ in range(2):
        make_deal(owner=org.bob, stage="signing", at=oct_31)

    response = client(org.manager).get("/api/v1/tiers/standings/", {"period": NOV, "team": org.east.pk})

    assert response.status_code == 200
    rows = {r["username"]: r for r in response.json()["rows"]}
    assert (rows["alice"]["reached"]["name"], rows["alice"]["next"]["name"], rows["alice"]["gap"]) == (
        "Tier 2",
        "Tier 3",
        "3.00",
    )
    assert (rows["bob"]["reached"], rows["bob"]["next"]["name"], rows["bob"]["gap"]) == (None, "Tier 1", "1.00")
    assert rows["nina"]["value"] == "0.00"

    listed = client(org.manager).get("/api/v1/tiers/", {"period": NOV, "standings": "1", "team": org.east.pk}).json()
    assert {r["username"] for r in listed["standings"]["rows"]} == {"alice", "bob", "nina"}

    assert client(org.alice).get("/api/v1/tiers/standings/", {"period": NOV, "team": org.east.pk}).status_code == 404
    mine = client(org.alice).get("/api/v1/tiers/standings/", {"period": NOV}).json()
    assert [r["username"] for r in mine["rows"]] == ["alice"]


def _team_with_reps(n: int, name: str):
    from tests.factories import TeamFactory, rep

    team = TeamFactory(name=name)
    for i in range(n):
        rep(team, username=f"{name}-{i}")
    template_apply(period=NOV, team=team, actor=None)
    for threshold in (3, 5, 8):
        tier_set(period=NOV, team=team, threshold=threshold, name=f"{name} {threshold}", actor=None)
    return team


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/targets/?period=2026-11&page_size=500&t={team}",
        "/api/v1/targets/grid/?period=2026-11&team={team}",
        "/api/v1/templates/",
        "/api/v1/tiers/?period=2026-11&team={team}",
        "/api/v1/tiers/standings/?period=2026-11&team={team}",
        "/api/v1/periods/",
    ],
)
def test_list_query_counts_do_not_grow_with_the_team(org, url):
    small, large = _team_with_reps(3, "small"), _team_with_reps(25, "large")
    for i in range(5):
        QuotaTemplate.objects.create(name=f"Extra {i}").lines.create(stage="prep", value=i)
    c = client(org.admin)
    counts = []
    for team in (small, large):
        c.get(url.format(team=team.pk))
        with CaptureQueriesContext(connection) as ctx:
            response = c.get(url.format(team=team.pk))
        assert response.status_code == 200
        counts.append(len(ctx.captured_queries))

    assert counts[0] == counts[1]
    assert counts[1] <= 12


def test_grid_flags_ladders_that_cannot_add_up_at_each_reps_trailing_rates(org, quotas):
    from tests.targets.ladder_example import climb_example

    climb_example(owner=org.alice, at=datetime(2026, 10, 12, 10, 0, tzinfo=org_tz()))  # 50/40/50/50/60 %
    quota_set(period=NOV, stage="proposal", value=15, user=org.alice, actor=org.manager)
    quota_set(period=NOV, stage="signing", value=9, user=org.bob, actor=org.manager)

    rows = {
        r["username"]: r
        for r in client(org.manager).get("/api/v1/targets/grid/", {"period": NOV, "team": org.east.pk}).json()["rows"]
    }

    # 20 needs at alice's 50 % feed at most 10 proposals, not 15
    assert [(f["code"], f["stage"], f["max_next"]) for f in rows["alice"]["ladder_flags"]] == [
        ("unreachable", "needs", 10)
    ]
    assert [(f["code"], f["stage"]) for f in rows["bob"]["ladder_flags"]] == [("quota_increases", "negotiation")]
    assert rows["nina"]["ladder_flags"] == []
