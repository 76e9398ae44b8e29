"""A re-sent lead updates its deal only within the caller's reach: no token rewrites, or takes over,
another team's deal by re-sending its (source, external id)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from pipeline.models import Deal, IntakeRecord, IntakeStatus, RoutingRule
from tests.intake.helpers import TokenClient, lead

pytestmark = pytest.mark.django_db


def _push(client: TokenClient, **fields):
    response = client.post(lead(1, **fields))
    return response.status_code, response.json()["results"][0]


def test_another_teams_rep_cannot_rewrite_or_take_over_a_deal(org):
    status, first = _push(TokenClient(org.manager), owner="bob")
    deal = Deal.objects.get(pk=first["deal"])
    assert (deal.owner, deal.team) == (org.bob, org.east)

    # dave (West) re-sends the same lead from his own token, naming himself and a new amount
    status, item = _push(TokenClient(org.dave), owner="dave", amount="777.00")

    assert item["status"] == "error"
    assert item["deal"] is None  # the other team's deal id is not revealed
    assert "outside your reach" in item["errors"]["external_id"][0]
    deal.refresh_from_db()
    assert (deal.owner, deal.team, deal.amount) == (org.bob, org.east, Decimal("1200.00"))
    assert IntakeRecord.objects.filter(status=IntakeStatus.ERROR, external_id="L-1").count() == 1


def test_the_teams_manager_and_a_colleagues_token_still_update_it(org):
    _status, first = _push(TokenClient(org.manager), owner="bob")

    _status, by_manager = _push(TokenClient(org.manager), amount="1500.00")
    # alice's token: round-robin puts East leads on her colleagues too, so re-sending them must work
    _status, by_colleague = _push(TokenClient(org.alice), amount="1600.00")

    assert (by_manager["status"], by_manager["deal"]) == ("updated", first["deal"])
    assert (by_colleague["status"], by_colleague["deal"]) == ("updated", first["deal"])
    assert Deal.objects.get(pk=first["deal"]).amount == Decimal("1600.00")


def test_a_lead_routed_to_another_team_can_be_re_sent_by_the_same_source(org):
    RoutingRule.objects.create(source="fair", team=org.west)
    alice = TokenClient(org.alice)

    _status, first = _push(alice, source="fair")
    _status, again = _push(alice, source="fair", amount="900.00")

    assert Deal.objects.get(pk=first["deal"]).team == org.west
    assert (again["status"], again["deal"]) == ("updated", first["deal"])


def test_an_admin_token_reaches_every_deal(org):
    _status, first = _push(TokenClient(org.mgr_west), owner="dave")

    _status, item = _push(TokenClient(org.admin), amount="50.00")

    assert (item["status"], item["deal"]) == ("updated", first["deal"])
