"""Who owns an incoming lead: explicit owner, routing rule, or round-robin in the token's team."""

from __future__ import annotations

from collections import Counter

import pytest

from pipeline.models import Account, Deal, IntakeRecord, OwnerStrategy, RoutingRule
from tests.factories import rep
from tests.intake.helpers import TokenClient, lead


def owners(response) -> list[str]:
    ids = [r["deal"] for r in response.json()["results"]]
    by_id = dict(Deal.objects.filter(pk__in=ids).values_list("pk", "owner__username"))
    return [by_id[i] for i in ids]


def test_round_robin_spreads_leads_evenly_over_the_teams_reps_across_requests(org):
    client = TokenClient(org.manager, team=org.east)

    first = owners(client.post({"leads": [lead(i) for i in range(5)]}))
    second = owners(client.post({"leads": [lead(i) for i in range(5, 10)]}))

    assert first == ["alice", "bob", "alice", "bob", "alice"]
    assert second[0] == "bob"  # the cursor continues where the last request stopped
    assert Counter(first + second) == {"alice": 5, "bob": 5}
    assert set(Deal.objects.values_list("team__name", flat=True)) == {"East"}


def test_a_parent_team_without_own_reps_rotates_over_its_sub_teams(org):
    org.alice.memberships.all().delete()
    org.bob.memberships.all().delete()
    client = TokenClient(org.manager, team=org.east)

    assigned = owners(client.post({"leads": [lead(i) for i in range(2)]}))

    assert assigned == ["nina", "nina"]
    assert set(Deal.objects.values_list("team__name", flat=True)) == {"East North"}


def test_explicit_owner_by_username_or_email(org):
    client = TokenClient(org.manager, team=org.east)

    assigned = owners(client.post({"leads": [lead(1, owner="bob"), lead(2, owner="ALICE@example.com")]}))

    assert assigned == ["bob", "alice"]


def test_an_owner_outside_the_callers_scope_is_a_field_error(org):
    client = TokenClient(org.manager, team=org.east)

    result = client.post({"leads": [lead(1, owner="dave"), lead(2, owner="nobody")]}).json()["results"]

    assert [r["status"] for r in result] == ["error", "error"]
    assert "owner" in result[0]["errors"]
    assert "owner" in result[1]["errors"]
    assert Deal.objects.count() == 0


def test_a_reps_token_can_only_assign_to_the_rep(org):
    client = TokenClient(org.alice)

    result = client.post({"leads": [lead(1), lead(2, owner="bob")]}).json()["results"]

    assert [r["status"] for r in result] == ["created", "error"]
    assert Deal.objects.get().owner == org.alice


def test_resending_with_an_owner_reassigns_the_deal(org):
    client = TokenClient(org.manager, team=org.east)
    client.post(lead(1, owner="alice"))

    result = client.post(lead(1, owner="bob")).json()["results"][0]

    assert result["status"] == "updated"
    assert Deal.objects.get().owner == org.bob


def test_routing_rule_sends_a_source_to_another_team_round_robin(org):
    dave2 = rep(org.west, username="dave2")
    RoutingRule.objects.create(source="fair", team=org.west)
    client = TokenClient(org.admin, team=org.east)

    assigned = owners(client.post({"leads": [lead(i, source="fair") for i in range(4)] + [lead(9)]}))

    assert assigned[:4] == ["dave", "dave2", "dave", "dave2"]
    assert assigned[4] in {"alice", "bob"}  # no rule for "webform": the token's team
    assert set(Deal.objects.filter(owner=dave2).values_list("team", flat=True)) == {org.west.pk}


def test_routing_rule_with_a_fixed_owner(org):
    RoutingRule.objects.create(source="partner", team=org.west, strategy=OwnerStrategy.FIXED, owner=org.mgr_west)
    client = TokenClient(org.admin, team=org.east)

    assigned = owners(client.post({"leads": [lead(i, source="partner") for i in range(3)]}))

    assert assigned == ["mgr_west"] * 3
    assert set(Deal.objects.values_list("team", flat=True)) == {org.west.pk}


def test_an_inactive_rule_is_ignored(org):
    RoutingRule.objects.create(source="fair", team=org.west, is_active=False)
    client = TokenClient(org.manager, team=org.east)

    assert owners(client.post(lead(1, source="fair"))) == ["alice"]


def test_no_owner_no_rule_and_no_team_is_a_clear_error(org):
    client = TokenClient(org.admin)  # the admin belongs to no team

    result = client.post(lead(1)).json()["results"][0]

    assert result["status"] == "error"
    assert "owner" in result["errors"]


def test_admins_manage_routing_rules_through_the_api(org):
    from rest_framework.test import APIClient

    admin = APIClient()
    admin.force_login(org.admin)

    created = admin.post("/api/v1/routing-rules/", {"source": "fair", "team": org.west.pk}, format="json")
    assert created.status_code == 201
    assert created.json()["strategy"] == "round_robin"
    duplicate = admin.post("/api/v1/routing-rules/", {"source": "fair", "team": org.east.pk}, format="json")
    assert duplicate.status_code == 400
    assert "source" in duplicate.json()["errors"]
    no_owner = admin.patch(f"/api/v1/routing-rules/{created.json()['id']}/", {"strategy": "fixed"}, format="json")
    assert no_owner.status_code == 400
    assert "owner" in no_owner.json()["errors"]
    fixed = admin.patch(
        f"/api/v1/routing-rules/{created.json()['id']}/", {"strategy": "fixed", "owner": org.dave.pk}, format="json"
    )
    assert fixed.status_code == 200

    assert owners(TokenClient(org.admin, team=org.east).post(lead(1, source="fair"))) == ["dave"]


def test_routing_rules_are_admin_only(org):
    from rest_framework.test import APIClient

    client = APIClient()
    client.force_login(org.manager)

    assert client.get("/api/v1/routing-rules/").status_code == 403


# Outside a test transaction (as in production) the owners and new accounts are settled ahead of the batch's
# own transaction; the answers must be the same.


@pytest.mark.django_db(transaction=True)
def test_outside_a_transaction_round_robin_continues_across_requests(org):
    client = TokenClient(org.manager, team=org.east)

    first = owners(client.post({"leads": [lead(i) for i in range(3)]}))
    second = owners(client.post({"leads": [lead(i) for i in range(3, 6)]}))

    assert first + second == ["alice", "bob", "alice", "bob", "alice", "bob"]


@pytest.mark.django_db(transaction=True)
def test_outside_a_transaction_a_mixed_batch_keeps_the_good_leads_and_refuses_the_rest(org):
    client = TokenClient(org.manager, team=org.east)
    client.post(lead(1, company="Acme Ltd"))

    response = client.post(
        {
            "leads": [
                lead(1, company="Acme Ltd", amount="99.00"),  # known: updated
                lead(2, company="Gamma Trading", owner="nobody"),  # refused: unknown owner
                lead(3, company="Acme Ltd", owner="bob"),  # new deal, known account
                lead(4, company="Beta GmbH", email="x"),  # invalid
                lead(3, company="Acme Ltd", owner="bob"),  # the same lead again: nothing changes
            ]
        }
    )

    assert response.status_code == 201
    assert [r["status"] for r in response.json()["results"]] == ["updated", "error", "created", "error", "unchanged"]
    assert Account.objects.count() == 1  # the refused leads left no account behind
    assert Deal.objects.get(external_id="L-3").owner == org.bob
    assert IntakeRecord.objects.filter(status="error").count() == 2
