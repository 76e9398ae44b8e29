"""Deals over the API: create, edit, move, lose, reopen, filters, ordering and pagination."""

from __future__ import annotations

import datetime
import json
import re

import pytest

from pipeline.models import Channel, Deal, StageTransition
from tests.api.conftest import World, session_client
from tests.factories import AccountFactory, ContactFactory, make_deal


@pytest.fixture
def alice_client(world: World):
    return session_client(world.org.alice)


def test_create_defaults_owner_to_caller_and_records_api_channel(world: World, alice_client):
    account = world.by_rep["alice"].account

    response = alice_client.post(
        "/api/v1/deals/", {"title": "Pilot", "account": account.pk, "amount": "1200.50"}, format="json"
    )

    assert response.status_code == 201
    body = response.json()
    assert body["owner"] == world.org.alice.pk
    assert body["team"] == world.org.east.pk
    assert (body["stage"], body["status"], body["amount"]) == ("prep", "open", "1200.50")
    transition = StageTransition.objects.get(deal_id=body["id"])
    assert (transition.channel, transition.actor) == (Channel.API, world.org.alice)


def test_create_at_a_later_stage_checks_every_gate_on_the_way(world: World, alice_client):
    account = world.by_rep["alice"].account

    response = alice_client.post(
        "/api/v1/deals/", {"title": "Big one", "account": account.pk, "stage": "proposal"}, format="json"
    )

    assert response.status_code == 400
    errors = response.json()["errors"]
    assert set(errors) == {"contact", "needs_summary", "amount"}
    assert not Deal.objects.filter(title="Big one").exists()


def test_create_at_a_later_stage_records_one_transition_per_rung(world: World, alice_client):
    holding = world.by_rep["alice"]
    response = alice_client.post(
        "/api/v1/deals/",
        {
            "title": "Fast",
            "account": holding.account.pk,
            "contact": holding.contact.pk,
            "stage": "needs",
        },
        format="json",
    )
    assert response.status_code == 201
    transitions = alice_client.get(f"/api/v1/deals/{response.json()['id']}/transitions/").json()
    assert [t["to_stage"] for t in transitions] == ["prep", "contact", "needs"]


@pytest.mark.parametrize("field", ["account", "contact", "owner", "team"])
def test_create_refuses_ids_outside_the_callers_scope(world: World, alice_client, field: str):
    dave = world.by_rep["dave"]
    data = {"title": "Sneaky", "account": world.by_rep["alice"].account.pk}
    data[field] = {
        "account": dave.account.pk,
        "contact": dave.contact.pk,
        "owner": world.org.dave.pk,
        "team": world.org.west.pk,
    }[field]

    response = alice_client.post("/api/v1/deals/", data, format="json")
    missing = alice_client.post("/api/v1/deals/", {**data, field: 999999}, format="json")

    assert response.status_code == 400
    assert list(response.json()["errors"]) == [field]
    # Out of scope reads exactly like "does not exist": nothing leaks.
    assert response.json()["errors"][field][0].replace(str(data[field]), "?") == missing.json()["errors"][field][
        0
    ].replace("999999", "?")
    assert not Deal.objects.filter(title="Sneaky").exists()


def test_manager_assigns_an_owner_inside_their_teams_only(world: World):
    client = session_client(world.org.manager)
    account = world.by_rep["alice"].account

    ok = client.post("/api/v1/deals/", {"title": "For nina", "account": account.pk, "owner": world.org.nina.pk})
    refused = client.post("/api/v1/deals/", {"title": "For dave", "account": account.pk, "owner": world.org.dave.pk})

    assert ok.status_code == 201
    assert (ok.json()["owner"], ok.json()["team"]) == (world.org.nina.pk, world.org.east_north.pk)
    assert refused.status_code == 400
    assert "owner" in refused.json()["errors"]


def test_duplicate_source_external_id_is_a_field_error(world: World, alice_client):
    account = world.by_rep["alice"].account.pk
    data = {"title": "A", "account": account, "source": "web", "external_id": "X-1"}
    assert alice_client.post("/api/v1/deals/", data).status_code == 201

    again = alice_client.post("/api/v1/deals/", {**data, "title": "B"})

    assert again.status_code == 400
    assert "external_id" in again.json()["errors"]
    assert Deal.objects.filter(source="web", external_id="X-1").count() == 1


def test_patch_edits_fields(world: World, alice_client):
    deal = world.by_rep["alice"].deal

    response = alice_client.patch(
        f"/api/v1/deals/{deal.pk}/", {"amount": "5000.00", "expected_close_date": "2027-01-31", "notes": "warm"}
    )

    assert response.status_code == 200
    deal.refresh_from_db()
    assert (str(deal.amount), deal.expected_close_date, deal.notes) == (
        "5000.00",
        datetime.date(2027, 1, 31),
        "warm",
    )


@pytest.mark.parametrize("payload", [{"stage": "signing"}, {"status": "won"}, {"stage": "prep", "notes": "x"}])
def test_patch_refuses_stage_and_status(world: World, alice_client, payload):
    deal = world.by_rep["alice"].deal

    response = alice_client.patch(f"/api/v1/deals/{deal.pk}/", payload)

    assert response.status_code == 400
    assert set(response.json()["errors"]) == {k for k in payload if k in ("stage", "status")}
    deal.refresh_from_db()
    assert (deal.stage, deal.status, deal.notes) == ("needs", "open", "")


def test_patch_with_negative_amount_is_a_field_error(world: World, alice_client):
    deal = world.by_rep["alice"].deal
    response = alice_client.patch(f"/api/v1/deals/{deal.pk}/", {"amount": "-1"})
    assert response.status_code == 400
    assert "amount" in response.json()["errors"]


def test_move_gate_failure_is_a_400_with_field_errors(world: World, alice_client):
    deal = world.by_rep["alice"].deal

    response = alice_client.post(f"/api/v1/deals/{deal.pk}/move/", {"to_stage": "negotiation"})

    assert response.status_code == 400
    body = response.json()
    assert set(body["errors"]) == {"needs_summary", "amount", "expected_close_date"}
    assert all(isinstance(msgs, list) and msgs for msgs in body["errors"].values())
    assert body["detail"]
    deal.refresh_from_db()
    assert deal.stage == "needs"


def test_move_with_gate_fields_applies_them_and_moves(world: World, alice_client):
    deal = world.by_rep["alice"].deal

    response = alice_client.post(
        f"/api/v1/deals/{deal.pk}/move/",
        {"to_stage": "proposal", "expected_stage": "needs", "needs_summary": "20 seats", "amount": "900"},
    )

    assert response.status_code == 200
    assert (response.json()["stage"], response.json()["amount"]) == ("proposal", "900.00")


def test_move_with_stale_expected_stage_is_409_with_current_stage(world: World, alice_client):
    deal = world.by_rep["alice"].deal

    response = alice_client.post(f"/api/v1/deals/{deal.pk}/move/", {"to_stage": "contact", "expected_stage": "prep"})

    assert response.status_code == 409
    body = response.json()
    assert body["current_stage"] == "needs"
    assert body["current_status"] == "open"
    assert "expected_stage" in body["errors"]
    deal.refresh_from_db()
    assert deal.stage == "needs"


def test_lose_and_reopen(world: World, alice_client):
    deal = world.by_rep["alice"].deal

    lost = alice_client.post(f"/api/v1/deals/{deal.pk}/lose/", {"reason": "price", "note": "too dear"})
    twice = alice_client.post(f"/api/v1/deals/{deal.pk}/lose/", {"reason": "price"})
    reopened = alice_client.post(f"/api/v1/deals/{deal.pk}/reopen/")

    assert lost.status_code == 200
    assert (lost.json()["status"], lost.json()["lost_reason"], lost.json()["lost_note"]) == (
        "lost",
        "price",
        "too dear",
    )
    assert twice.status_code == 400
    assert "status" in twice.json()["errors"]
    assert (reopened.json()["status"], reopened.json()["stage"]) == ("open", "needs")
    kinds = [t["kind"] for t in alice_client.get(f"/api/v1/deals/{deal.pk}/transitions/").json()]
    assert kinds[-2:] == ["lose", "reopen"]


def test_lose_with_unknown_reason_is_a_field_error(world: World, alice_client):
    deal = world.by_rep["alice"].deal
    response = alice_client.post(f"/api/v1/deals/{deal.pk}/lose/", {"reason": "no-such-reason"})
    assert response.status_code == 400
    assert "reason" in response.json()["errors"]


def test_malformed_json_is_400_and_wrong_content_type_is_415(world: World, alice_client):
    malformed = alice_client.post("/api/v1/deals/", data='{"title": ', content_type="application/json")
    form = alice_client.post("/api/v1/deals/", data="title=x", content_type="application/x-www-form-urlencoded")

    assert malformed.status_code == 400
    assert malformed.json()["errors"]["non_field_errors"]
    assert form.status_code == 415


# --- filters, ordering, pagination -------------------------------------------------------------


@pytest.fixture
def many(world: World) -> World:
    """A few more of alice's deals with distinct fields to filter on."""
    alice = world.org.alice
    account = AccountFactory(owner=alice, name="Zenith Robotics")
    make_deal(owner=alice, title="Robot arms", account=account, source="expo", external_id="EXPO-7")
    make_deal(owner=alice, title="Web lead", source="web")
    won = make_deal(
        owner=alice, title="Signed", stage="signing", account=account, contact=ContactFactory(account=account)
    )
    assert won.status == "won"
    return world


def _titles(response) -> list[str]:
    assert response.status_code == 200, response.json()
    return [d["title"] for d in response.json()["results"]]


def test_filters(many: World):
    client = session_client(many.org.manager)
    org = many.org

    assert set(_titles(client.get("/api/v1/deals/", {"owner": org.bob.pk}))) == {"bob deal"}
    assert set(_titles(client.get("/api/v1/deals/", {"team": org.east_north.pk}))) == {"nina deal"}
    assert set(_titles(client.get("/api/v1/deals/", {"stage": "signing"}))) == {"Signed"}
    assert set(_titles(client.get("/api/v1/deals/", {"status": "won"}))) == {"Signed"}
    assert set(_titles(client.get("/api/v1/deals/", {"source": "expo"}))) == {"Robot arms"}
    assert set(_titles(client.get("/api/v1/deals/", {"search": "zenith"}))) == {"Robot arms", "Signed"}
    assert set(_titles(client.get("/api/v1/deals/", {"search": "EXPO-7"}))) == {"Robot arms"}
    assert _titles(client.get("/api/v1/deals/", {"created_after": "2999-01-01T00:00:00Z"})) == []
    assert len(_titles(client.get("/api/v1/deals/", {"updated_after": "2000-01-01T00:00:00Z"}))) == 6


def test_filters_never_reveal_other_scopes(many: World):
    client = session_client(many.org.alice)
    # dave and West exist, but outside alice's scope they answer exactly like ids that do not exist.
    by_owner = client.get("/api/v1/deals/", {"owner": many.org.dave.pk})
    by_missing_owner = client.get("/api/v1/deals/", {"owner": 999_999})
    by_team = client.get("/api/v1/deals/", {"team": many.org.west.pk})
    by_missing_team = client.get("/api/v1/deals/", {"team": 999_999})
    by_search = client.get("/api/v1/deals/", {"search": "dave"})
    assert by_owner.status_code == by_missing_owner.status_code == 400
    assert by_owner.json()["errors"].keys() == {"owner"}
    assert _without_ids(by_owner.json()) == _without_ids(by_missing_owner.json())
    assert by_team.status_code == by_missing_team.status_code == 400
    assert _without_ids(by_team.json()) == _without_ids(by_missing_team.json())
    assert by_search.json()["results"] == []


def _without_ids(body: dict) -> str:
    return re.sub(r"\d+", "N", json.dumps(body, sort_keys=True))


def test_team_filter_includes_sub_teams(many: World):
    client = session_client(many.org.manager)
    nina_deal = make_deal(owner=many.org.nina)

    ids = [
        d["id"] for d in client.get("/api/v1/deals/", {"team": many.org.east.pk, "page_size": 500}).json()["results"]
    ]

    assert nina_deal.pk in ids


def test_bad_filter_values_are_400(many: World):
    client = session_client(many.org.manager)
    for params in ({"stage": "heaven"}, {"created_after": "yesterday"}, {"owner": "abc"}):
        response = client.get("/api/v1/deals/", params)
        assert response.status_code == 400, params
        assert set(response.json()["errors"]) == set(params)


def test_ordering(many: World):
    client = session_client(many.org.alice)
    titles = _titles(client.get("/api/v1/deals/", {"ordering": "title"}))
    assert titles == sorted(titles)
    assert _titles(client.get("/api/v1/deals/", {"ordering": "-title"})) == sorted(titles, reverse=True)


def test_pagination_and_page_size_cap(many: World):
    client = session_client(many.org.admin)
    first = client.get("/api/v1/deals/", {"page_size": 2, "ordering": "id"}).json()
    second = client.get("/api/v1/deals/", {"page_size": 2, "ordering": "id", "page": 2}).json()
    assert first["count"] == Deal.objects.count() == 7
    assert len(first["results"]) == 2
    assert first["next"]
    assert not first["previous"]
    assert {d["id"] for d in first["results"]}.isdisjoint({d["id"] for d in second["results"]})

    from salesladder.api.pagination import StandardPagination

    assert StandardPagination.max_page_size == 500
    capped = client.get("/api/v1/deals/", {"page_size": 100000}).json()
    assert len(capped["results"]) == 7
    assert client.get("/api/v1/deals/", {"page": 99}).status_code == 404


def test_activity_filters(world: World):
    client = session_client(world.org.manager)
    deal = world.by_rep["alice"].deal
    task = client.post(
        "/api/v1/activities/",
        {"deal": deal.pk, "kind": "task", "subject": "Send quote", "due_at": "2027-01-05T09:00:00Z"},
    ).json()

    open_tasks = client.get("/api/v1/activities/", {"deal": deal.pk, "done": "false"}).json()["results"]
    calls = client.get("/api/v1/activities/", {"kind": "call"}).json()["results"]
    done = client.post(f"/api/v1/activities/{task['id']}/complete/")

    assert [a["subject"] for a in open_tasks] == ["Send quote"]
    assert {a["subject"] for a in calls} == {"Call about alice", "Call about bob", "Call about nina"}
    assert done.json()["is_done"] is True
    assert client.get("/api/v1/activities/", {"deal": "1e30"}).status_code == 400
    assert client.get("/api/v1/activities/", {"deal": "0.5"}).status_code == 400


def test_unknown_api_paths_answer_json_404(world: World, alice_client):
    response = alice_client.get("/api/v1/deals/0.5/transitions/")
    assert response.status_code == 404
    assert response.json()["errors"]


def test_nested_input_errors_are_flattened_to_dotted_fields(world: World):
    from rest_framework import serializers

    from salesladder.api.exceptions import exception_handler

    exc = serializers.ValidationError({"events": {0: ["bad"]}, "items": [{}, {"email": ["invalid"]}], "x": "y"})
    response = exception_handler(exc, {})

    assert response.status_code == 400
    assert response.data["errors"] == {"events.0": ["bad"], "items.1.email": ["invalid"], "x": ["y"]}


@pytest.mark.parametrize("annotated", [True, False])
def test_fast_deal_serializer_matches_the_documented_fields(world: World, annotated: bool):
    from rest_framework import serializers

    from pipeline.api.deal_list import deal_list_queryset
    from pipeline.api.serializers import DealSerializer
    from pipeline.services import deal_lose
    from tests.factories import lost_reason

    signed = make_deal(owner=world.org.alice, stage="signing", notes="n", source="s", external_id="e")
    lost = make_deal(owner=world.org.alice, stage="needs", amount="12.30")
    deal_lose(deal=lost, reason=lost_reason(), actor=world.org.alice, note="why")
    for deal in (signed, lost, world.by_rep["alice"].deal):
        qs = Deal.objects.filter(pk=deal.pk)
        row = (deal_list_queryset(qs) if annotated else qs.select_related("account", "contact", "owner", "team")).get()
        fast = DealSerializer(row).data
        reference = serializers.ModelSerializer.to_representation(DealSerializer(), row)
        assert fast == reference
        assert list(fast) == DealSerializer.Meta.fields


def test_deal_list_rows_equal_the_serializer_for_every_kind_of_deal(world: World):
    """The list renders tuples by hand; each row must be exactly what DealSerializer says about that deal."""
    from rest_framework import serializers

    from pipeline.api.serializers import DealSerializer
    from pipeline.services import deal_lose
    from tests.factories import lost_reason

    alice = world.org.alice
    signed = make_deal(owner=alice, stage="signing", notes="n", source="s", external_id="e", amount="7")
    lost = make_deal(owner=alice, stage="needs", amount="12.30")
    deal_lose(deal=lost, reason=lost_reason(), actor=alice, note="why")
    bare = make_deal(owner=alice, title="No contact", contact=None, amount=None)

    listed = {d["id"]: d for d in session_client(alice).get("/api/v1/deals/", {"page_size": 500}).json()["results"]}

    assert set(listed) == set(Deal.objects.filter(owner=alice).values_list("pk", flat=True))
    for deal in Deal.objects.filter(owner=alice).select_related("account", "contact", "owner", "team", "lost_reason"):
        reference = serializers.ModelSerializer.to_representation(DealSerializer(), deal)
        assert listed[deal.pk] == reference
        assert list(listed[deal.pk]) == DealSerializer.Meta.fields
    assert listed[lost.pk]["lost_reason"]
    assert listed[lost.pk]["closed_at"]
    assert listed[signed.pk]["status"] == "won"
    assert listed[signed.pk]["signed_on"]
    assert listed[bare.pk]["contact"] is None
    assert listed[bare.pk]["amount"] is None


def test_deal_list_json_shape_is_pinned(world: World, alice_client):
    """The exact JSON of one known deal in the list (what integrators parse)."""
    deal = world.by_rep["alice"].deal
    Deal.objects.filter(pk=deal.pk).update(
        amount="1234.50",
        created_at="2026-03-01T02:03:04.000005Z",
        updated_at="2026-03-02T00:00:00Z",
        stage_entered_at="2026-03-01T16:30:00Z",
    )

    body = alice_client.get("/api/v1/deals/").json()
    row = next(d for d in body["results"] if d["id"] == deal.pk)

    assert set(body) == {"count", "next", "previous", "results"}
    assert row == {
        "id": deal.pk,
        "title": deal.title,
        "account": deal.account_id,
        "account_name": deal.account.name,
        "contact": deal.contact_id,
        "contact_name": deal.contact.name,
        "owner": world.org.alice.pk,
        "owner_username": "alice",
        "team": deal.team_id,
        "team_name": deal.team.name,
        "stage": "needs",
        "status": "open",
        "stage_entered_at": "2026-03-02T00:30:00+08:00",
        "amount": "1234.50",
        "currency": deal.currency,
        "expected_close_date": None,
        "needs_summary": deal.needs_summary,
        "signed_on": None,
        "contract_amount": None,
        "delivery_status": "",
        "source": deal.source,
        "external_id": deal.external_id,
        "notes": deal.notes,
        "lost_reason": None,
        "lost_note": "",
        "closed_at": None,
        "last_activity_at": row["last_activity_at"],
        "is_stale": False,
        "created_at": "2026-03-01T10:03:04.000005+08:00",
        "updated_at": "2026-03-02T08:00:00+08:00",
    }


def test_deal_list_count_follows_writes_and_never_crosses_scopes_or_filters(world: World, alice_client):
    """The count is cached briefly, but a deal saved through the app shows at once, and the number is
    per caller and per filter."""
    manager = session_client(world.org.manager)
    alice_before = alice_client.get("/api/v1/deals/").json()["count"]
    manager_before = manager.get("/api/v1/deals/").json()["count"]
    assert manager_before > alice_before == Deal.objects.filter(owner=world.org.alice).count()

    created = alice_client.post(
        "/api/v1/deals/", {"title": "Fresh", "account": world.by_rep["alice"].account.pk}, format="json"
    )
    assert created.status_code == 201, created.json()

    assert alice_client.get("/api/v1/deals/").json()["count"] == alice_before + 1
    assert alice_client.get("/api/v1/deals/", {"page_size": 1, "page": 2}).json()["count"] == alice_before + 1
    assert manager.get("/api/v1/deals/").json()["count"] == manager_before + 1
    assert manager.get("/api/v1/deals/", {"stage": "prep"}).json()["count"] == (
        Deal.objects.filter(stage="prep").count()
    )
    assert alice_client.get("/api/v1/deals/", {"search": "Fresh"}).json()["count"] == 1
    Deal.objects.get(title="Fresh").delete()
    assert alice_client.get("/api/v1/deals/").json()["count"] == alice_before


def test_deal_rows_read_like_the_queryset(world: World):
    """The list reads its page on its own cursor (psycopg's C timestamp loader on PostgreSQL): the same
    values as iterating the queryset, and an empty page for a query that can match nothing."""
    from pipeline.api.deal_list import DealRows, deal_list_values, fetch_rows

    deals = Deal.objects.order_by("-updated_at", "-id")
    alice = world.org.alice

    assert DealRows(deals)[0:50] == list(deal_list_values(deals)[0:50])
    assert DealRows(deals)[1:2] == list(deal_list_values(deals)[1:2])
    # The wide statement is reused for the same shape with other parameters, never across shapes.
    for _ in range(2):
        for owner in (alice, world.org.bob):
            for shaped in (
                deals.filter(owner=owner),
                deals.filter(owner=owner, title__icontains="deal").order_by("title", "id"),
                deals.filter(team_id__in=[world.org.east.pk, world.org.west.pk]),
            ):
                assert DealRows(shaped)[0:2] == list(deal_list_values(shaped)[0:2])
                assert DealRows(shaped)[1:3] == list(deal_list_values(shaped)[1:3])
    assert fetch_rows(Deal.objects.none().values_list("id")) == []
    assert fetch_rows(Deal.objects.filter(pk__in=[]).values_list("id")) == []
