"""``deals/{id}/lose/`` takes ``reason`` / ``note`` or the names the deal shows them under, ``lost_reason`` /
``lost_note``; the two names of one field with different values are a field-level 400 and nothing is written."""

from __future__ import annotations

import pytest

from pipeline.models import Deal, StageTransition
from tests.api.conftest import World, session_client


@pytest.fixture
def alice_client(world: World):
    return session_client(world.org.alice)


def _lose(client, deal: Deal, body: dict):
    return client.post(f"/api/v1/deals/{deal.pk}/lose/", body, format="json")


def _lost(response) -> tuple[str, str, str]:
    body = response.json()
    return body["status"], body["lost_reason"], body["lost_note"]


@pytest.mark.parametrize(
    "body",
    [
        {"lost_reason": "competitor", "lost_note": "went with Acme"},
        {"reason": "competitor", "lost_note": "went with Acme"},
        {"lost_reason": "competitor", "note": "went with Acme"},
        {"reason": "competitor", "lost_reason": "competitor", "note": "went with Acme", "lost_note": "went with Acme"},
    ],
    ids=["lost-names", "reason-and-lost-note", "lost-reason-and-note", "both-names-agreeing"],
)
def test_the_deals_own_field_names_are_accepted(world: World, alice_client, body):
    deal = world.by_rep["alice"].deal

    response = _lose(alice_client, deal, body)

    assert response.status_code == 200, response.content
    assert _lost(response) == ("lost", "competitor", "went with Acme")
    deal.refresh_from_db()
    assert (deal.status, deal.lost_reason.code, deal.lost_note) == ("lost", "competitor", "went with Acme")


def test_the_original_names_keep_working(world: World, alice_client):
    deal = world.by_rep["alice"].deal

    response = _lose(alice_client, deal, {"reason": "price"})

    assert response.status_code == 200
    assert _lost(response) == ("lost", "price", "")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"reason": "price", "lost_reason": "competitor"}, "lost_reason"),
        ({"reason": "price", "note": "too dear", "lost_note": "too slow"}, "lost_note"),
        ({"lost_reason": "price", "note": "", "lost_note": "too slow"}, "lost_note"),
    ],
    ids=["reasons-differ", "notes-differ", "blank-note-differs"],
)
def test_two_names_with_different_values_are_a_field_error_and_change_nothing(world: World, alice_client, body, field):
    deal = world.by_rep["alice"].deal
    transitions = StageTransition.objects.filter(deal=deal).count()

    response = _lose(alice_client, deal, body)

    assert response.status_code == 400
    errors = response.json()["errors"]
    assert list(errors) == [field]
    assert field in errors[field][0]
    deal.refresh_from_db()
    assert deal.status == "open"
    assert StageTransition.objects.filter(deal=deal).count() == transitions


def test_a_reason_is_still_required_under_either_name(world: World, alice_client):
    deal = world.by_rep["alice"].deal

    response = _lose(alice_client, deal, {"lost_note": "no reason given"})

    assert response.status_code == 400
    assert response.json()["errors"] == {"reason": ["This field is required."]}
    deal.refresh_from_db()
    assert deal.status == "open"


def test_an_unknown_code_under_the_alias_is_an_error_on_the_alias(world: World, alice_client):
    deal = world.by_rep["alice"].deal

    response = _lose(alice_client, deal, {"lost_reason": "no-such-reason"})

    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["lost_reason"]


def test_the_schema_documents_both_names(db, client):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    ref = schema["paths"]["/api/v1/deals/{id}/lose/"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    properties = schema["components"]["schemas"][ref["$ref"].rsplit("/", 1)[1]]["properties"]

    assert {"reason", "lost_reason", "note", "lost_note"} <= set(properties)
    assert "lost_reason" in properties["reason"]["description"]
    assert "reason" in properties["lost_reason"]["description"]
