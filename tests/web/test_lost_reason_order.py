"""One order for every lost-reason list, the dashboard's and ``outcomes/``'s: most deals first, equal counts by the
label as shown to the user (so in their language), then by code."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from pipeline.models import LostReason, Stage
from pipeline.services import deal_lose
from targets.dashboard import lost_reason_rows
from tests.factories import lost_reason, make_deal

pytestmark = pytest.mark.django_db


def _lose(org, codes: list[str]) -> None:
    for n, code in enumerate(codes):
        deal = make_deal(owner=org.bob, stage=Stage.CONTACT, title=f"Lost {n}")
        deal_lose(deal=deal, reason=lost_reason(code), note="", actor=org.bob)


def _api_labels(org, **headers) -> list[tuple[str, int]]:
    c = APIClient()
    c.force_login(org.manager)
    body = c.get("/api/v1/outcomes/", {"team": org.east.pk}, **headers).json()
    return [(r["label"], r["deals"]) for r in body["lost_reasons"]]


def _order_in(html_table: str, labels: list[str]) -> list[str]:
    return sorted(labels, key=html_table.index)


def _dashboard_order(client, org, labels: list[str], **headers) -> list[str]:
    client.force_login(org.manager)
    html = client.get("/dashboard/section/outcomes/", {"team": org.east.pk}, **headers).content.decode()
    start = html.index('data-testid="lost-reasons"')
    table = html[start : html.index("</table>", start)]
    return _order_in(table, labels)


def test_equal_counts_are_ordered_by_label_in_the_api_and_on_the_dashboard_alike(client, org):
    # given: "price" (Price too high) and "timing" (Bad timing) twice each: by code price comes first, by label
    # Bad timing does; "competitor" once
    _lose(org, ["price", "timing", "competitor", "timing", "price"])

    # when
    api = _api_labels(org)
    dashboard = _dashboard_order(client, org, ["Price too high", "Bad timing", "Chose a competitor"])

    # then
    assert api == [("Bad timing", 2), ("Price too high", 2), ("Chose a competitor", 1)]
    assert dashboard == [label for label, _n in api]


def test_the_label_order_is_the_users_language(client, org, compiled_translations):
    # 价格过高 (price) sorts before 时机不对 (timing): the reverse of their English labels
    _lose(org, ["price", "timing"])
    zh = {"HTTP_ACCEPT_LANGUAGE": "zh-hans"}

    api = _api_labels(org, **zh)
    dashboard = _dashboard_order(client, org, ["价格过高", "时机不对"], **zh)

    assert api == [("价格过高", 1), ("时机不对", 1)]
    assert dashboard == ["价格过高", "时机不对"]
    assert _api_labels(org) == [("Bad timing", 1), ("Price too high", 1)]


def test_reasons_labelled_alike_fall_back_to_their_code():
    LostReason.objects.create(code="zz_budget", label_en="No budget", label_zh="没有预算", position=9)

    rows = lost_reason_rows({"zz_budget": 3, "no_budget": 3, "price": 4, "": 3})

    assert rows == [
        ("price", "Price too high", 4),
        ("no_budget", "No budget", 3),
        ("zz_budget", "No budget", 3),
        ("", "No reason given", 3),
    ]


def test_the_schema_states_the_order(client):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    reasons = schema["components"]["schemas"]["Outcomes"]["properties"]["lost_reasons"]

    assert "equal counts by label" in reasons["description"]
