"""``outcomes/``, ``pipeline-value/`` and ``stage-win-rates/`` over the API: figures, scope checks (404
outside the caller's reach), bad input, and query counts that do not grow with the team."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from pipeline.models import Stage, StageConfig
from pipeline.services import deal_lose
from salesladder.org.models import ApiScope
from salesladder.org.services import api_token_create
from tests.factories import lost_reason, make_deal, rep


def client(user) -> APIClient:
    c = APIClient()
    c.force_login(user)
    return c


@pytest.fixture
def closed(org):
    """East this month: alice won one (9,500), bob lost three (price, price, timing); West: dave lost one."""
    make_deal(owner=org.alice, stage=Stage.SIGNING, contract_amount=Decimal("9500.00"))
    for n, code in enumerate(["price", "price", "timing"]):
        deal_lose(deal=make_deal(owner=org.bob, title=f"Lost {n}"), reason=lost_reason(code), actor=org.bob)
    deal_lose(deal=make_deal(owner=org.dave), reason=lost_reason("other"), actor=org.dave)


def test_outcomes_of_a_team_and_of_a_rep(org, closed):
    team = client(org.manager).get("/api/v1/outcomes/", {"team": org.east.pk})
    alice = client(org.manager).get("/api/v1/outcomes/", {"user": "alice"})

    assert team.status_code == 200
    body = team.json()
    assert body["scope"] == {"type": "team", "id": org.east.pk, "label": "East"}
    assert (body["won_count"], body["won_amount"], body["lost_count"]) == (1, "9500.00", 3)
    assert body["win_rate"] == 0.25
    assert body["lost_reasons"] == [
        {"code": "price", "label": "Price too high", "deals": 2},
        {"code": "timing", "label": "Bad timing", "deals": 1},
    ]
    assert (alice.json()["won_count"], alice.json()["lost_count"], alice.json()["win_rate"]) == (1, 0, 1.0)


def test_a_deal_lost_without_a_reason_is_counted_under_no_reason_given(org):
    from pipeline.models import Deal

    lost = make_deal(owner=org.bob)
    deal_lose(deal=lost, reason=lost_reason("price"), actor=org.bob)
    Deal.objects.filter(pk=lost.pk).update(lost_reason=None)  # as old data or an admin edit leaves it

    body = client(org.manager).get("/api/v1/outcomes/", {"team": org.east.pk}).json()
    html = client(org.manager).get("/dashboard/section/outcomes/", {"team": org.east.pk}).content.decode()

    assert body["lost_count"] == 1
    assert [(r["code"], r["label"], r["deals"]) for r in body["lost_reasons"]] == [(None, "No reason given", 1)]
    assert "No reason given" in html[html.index('data-testid="lost-reasons"') :]


def test_outcomes_outside_the_callers_reach_are_404_and_bad_input_400(org, closed):
    assert client(org.manager).get("/api/v1/outcomes/", {"team": org.west.pk}).status_code == 404
    assert client(org.alice).get("/api/v1/outcomes/", {"user": "bob"}).status_code == 404
    bad = client(org.manager).get("/api/v1/outcomes/", {"period": "2026-13", "team": "x"})
    assert bad.status_code == 400
    assert set(bad.json()["errors"]) == {"period", "team"}
    assert APIClient().get("/api/v1/outcomes/").status_code == 401


def test_pipeline_value_weighs_open_deals_by_their_stage_probability_per_close_month(org):
    make_deal(
        owner=org.alice, stage=Stage.NEGOTIATION, amount=Decimal("10000.00"), expected_close_date=date(2027, 1, 9)
    )
    make_deal(owner=org.bob, stage=Stage.PROPOSAL, amount=Decimal("5000.00"))
    make_deal(owner=org.dave, stage=Stage.NEGOTIATION, amount=Decimal("70000.00"))  # West
    p = dict(StageConfig.objects.values_list("stage", "probability"))

    body = client(org.manager).get("/api/v1/pipeline-value/", {"team": org.east.pk}).json()

    expected = {"2027-01": Decimal(10000 * p["negotiation"]) / 100, None: Decimal(5000 * p["proposal"]) / 100}
    assert {m["month"]: Decimal(m["weighted_amount"]) for m in body["months"]} == expected
    assert Decimal(body["total"]) == sum(expected.values())
    assert client(org.manager).get("/api/v1/pipeline-value/", {"team": org.west.pk}).status_code == 404


def test_stage_win_rates_flag_drift_from_the_configured_probability(org):
    for _n in range(3):
        make_deal(owner=org.alice, stage=Stage.SIGNING)
    deal_lose(deal=make_deal(owner=org.bob), reason=lost_reason("price"), actor=org.bob)
    StageConfig.objects.filter(stage=Stage.PREP).update(probability=75)

    body = client(org.manager).get("/api/v1/stage-win-rates/", {"team": org.east.pk}).json()

    rows = {r["stage"]: r for r in body["stages"]}
    assert body["scope"] == {"type": "team", "id": org.east.pk, "label": "East"}
    assert body["drift_points"] == 10
    assert rows["prep"] == {
        "stage": "prep",
        "configured_probability": 75,
        "observed": 0.75,
        "closed_sample": 4,
        "drift": False,
    }
    assert (rows["negotiation"]["observed"], rows["negotiation"]["drift"]) == (1.0, True)


def test_stage_win_rates_count_only_the_callers_deals(org):
    """A rep sees their own deals' rates, not other teams' (West's losses stay out of East's figures);
    another team is a 404; an admin without a scope sees the organisation."""
    make_deal(owner=org.alice, stage=Stage.SIGNING)
    for _n in range(4):
        deal_lose(deal=make_deal(owner=org.dave), reason=lost_reason("price"), actor=org.dave)

    mine = client(org.alice).get("/api/v1/stage-win-rates/").json()
    east = client(org.manager).get("/api/v1/stage-win-rates/", {"team": org.east.pk}).json()
    everyone = client(org.admin).get("/api/v1/stage-win-rates/").json()

    assert mine["scope"]["type"] == "user"
    assert [(r["observed"], r["closed_sample"]) for r in mine["stages"]][0] == (1.0, 1)
    assert [(r["observed"], r["closed_sample"]) for r in east["stages"]][0] == (1.0, 1)
    assert [(r["observed"], r["closed_sample"]) for r in everyone["stages"]][0] == (0.2, 5)
    assert client(org.manager).get("/api/v1/stage-win-rates/", {"team": org.west.pk}).status_code == 404
    assert client(org.alice).get("/api/v1/stage-win-rates/", {"user": "dave"}).status_code == 404


def test_stage_win_rates_are_cached_for_a_while_but_probabilities_are_live(org):
    make_deal(owner=org.alice, stage=Stage.SIGNING)
    c = client(org.admin)
    first = c.get("/api/v1/stage-win-rates/").json()
    make_deal(owner=org.bob, stage=Stage.SIGNING)  # within the cache's life: not counted yet
    StageConfig.objects.filter(stage=Stage.PREP).update(probability=50)

    second = c.get("/api/v1/stage-win-rates/").json()

    assert first["stages"][0]["closed_sample"] == second["stages"][0]["closed_sample"] == 1
    assert (first["stages"][0]["configured_probability"], second["stages"][0]["configured_probability"]) == (5, 50)
    assert second["stages"][0]["drift"] is True  # 100 % observed against 50 %


def test_a_leads_only_token_cannot_read_them(org, closed):
    key = api_token_create(user=org.manager, name="leads", scopes=[ApiScope.LEADS_WRITE], team=org.east)[1]
    c = APIClient()
    c.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")

    for path in ("outcomes/", "pipeline-value/", "stage-win-rates/"):
        assert c.get(f"/api/v1/{path}").status_code == 403


def test_query_counts_do_not_grow_with_the_team(org, django_assert_max_num_queries):
    def measure() -> list[int]:
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        counts = []
        cache.clear()  # the win rates' cache: count the queries that fill it
        c = client(org.manager)
        for path in ("outcomes/", "pipeline-value/", "stage-win-rates/"):
            with CaptureQueriesContext(connection) as ctx:
                assert c.get(f"/api/v1/{path}", {"team": org.east.pk}).status_code == 200
            counts.append(len(ctx.captured_queries))
        return counts

    make_deal(owner=org.alice, stage=Stage.NEEDS)
    deal_lose(deal=make_deal(owner=org.alice), reason=lost_reason("timing"), actor=org.alice)
    small = measure()
    for i in range(15):
        user = rep(org.east, username=f"extra{i}")
        make_deal(owner=user, stage=Stage.NEGOTIATION, amount=Decimal("100.00"))
        deal_lose(deal=make_deal(owner=user), reason=lost_reason("price"), actor=user)

    assert measure() == small
