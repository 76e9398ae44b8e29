"""POST/GET /api/v1/leads/: creation, replay, updates, mixed batches, errors and scopes."""

from __future__ import annotations

import json

import pytest
from django.db import connection

from pipeline.api import intake_views
from pipeline.models import Channel, Deal, IntakeRecord, Stage, StageTransition
from tests.intake.helpers import LEADS_URL, TokenClient, lead


def test_one_lead_creates_a_deal_in_prep_recorded_as_intake(org):
    client = TokenClient(org.manager, team=org.east)

    response = client.post(lead(1, amount="2500.50"))

    assert response.status_code == 201
    body = response.json()
    assert body["totals"] == {"received": 1, "created": 1, "updated": 0, "unchanged": 0, "error": 0}
    (item,) = body["results"]
    assert item["index"] == 0
    assert item["status"] == "created"
    assert item["errors"] == {}
    deal = Deal.objects.select_related("account", "contact").get(pk=item["deal"])
    assert (deal.stage, deal.status, deal.source, deal.external_id) == (Stage.PREP, "open", "webform", "L-1")
    assert str(deal.amount) == "2500.50"
    assert deal.account.name == "Company 1 Ltd"
    assert deal.contact.email == "person1@company1.example"
    assert deal.contact.title == "CTO"
    assert deal.team == org.east
    transition = StageTransition.objects.get(deal=deal)
    assert (transition.kind, transition.to_stage, transition.channel) == ("create", "prep", Channel.INTAKE)
    assert transition.owner_id == deal.owner_id
    assert transition.team_id == org.east.pk
    assert IntakeRecord.objects.get(deal=deal).status == "created"


def test_replaying_a_batch_creates_nothing_and_reports_unchanged(org):
    client = TokenClient(org.manager, team=org.east)
    batch = {"leads": [lead(i) for i in range(20)]}
    first = client.post(batch)
    deals, records = Deal.objects.count(), IntakeRecord.objects.count()

    second = client.post(batch)

    assert first.status_code == 201
    assert second.status_code == 200
    assert second.json()["totals"]["unchanged"] == 20
    assert [r["deal"] for r in second.json()["results"]] == [r["deal"] for r in first.json()["results"]]
    assert Deal.objects.count() == deals == 20
    assert IntakeRecord.objects.count() == records  # a replay writes nothing


def test_resending_a_changed_lead_updates_the_same_deal(org):
    client = TokenClient(org.manager, team=org.east)
    created = client.post({"leads": [lead(1), lead(2)]}).json()["results"]

    response = client.post({"leads": [lead(1, amount="9999.00", notes="Budget approved"), lead(2)]})

    assert response.status_code == 200
    results = response.json()["results"]
    assert [r["status"] for r in results] == ["updated", "unchanged"]
    assert results[0]["deal"] == created[0]["deal"]
    deal = Deal.objects.get(pk=created[0]["deal"])
    assert str(deal.amount) == "9999.00"
    assert deal.notes == "Budget approved"
    assert deal.transitions.count() == 1  # an update is not a stage change


def test_an_update_may_send_only_what_changed_but_a_new_lead_needs_a_name(org):
    """SPEC §7 requires only source and external_id. An update of a known lead may carry just its new
    amount; a lead that would create a deal needs a company, contact name or e-mail to be called by."""
    client = TokenClient(org.manager, team=org.east)
    client.post(lead(1, amount="2000.00"))
    known = Deal.objects.get()

    response = client.post(
        {
            "leads": [
                {"source": "webform", "external_id": "L-1", "amount": "3000"},
                {"source": "webform", "external_id": "L-2", "phone": "+86 21 5555 0101"},
            ]
        }
    )

    first, second = response.json()["results"]
    assert (first["status"], first["deal"]) == ("updated", known.pk)
    known.refresh_from_db()
    assert str(known.amount) == "3000.00"
    assert known.account.name == "Company 1 Ltd"  # fields not sent are left alone
    assert second["status"] == "error"
    assert second["errors"] == {"company": ["Give at least a company, a contact name or an email."]}
    assert IntakeRecord.objects.get(status="error").external_id == "L-2"
    assert Deal.objects.count() == 1


def test_an_update_with_only_a_phone_and_title_reaches_the_deals_contact(org):
    client = TokenClient(org.manager, team=org.east)
    client.post(lead(1))
    deal = Deal.objects.select_related("contact").get()

    response = client.post({"source": "webform", "external_id": "L-1", "phone": "+86 10 6666 1234", "title": "CEO"})

    assert response.json()["results"][0]["status"] == "updated"
    deal.contact.refresh_from_db()
    assert (deal.contact.name, deal.contact.phone, deal.contact.title) == ("Person 1", "+86 10 6666 1234", "CEO")


def test_a_lead_repeated_inside_one_batch_makes_one_deal(org):
    client = TokenClient(org.manager, team=org.east)

    results = client.post({"leads": [lead(1), lead(1, amount="50.00")]}).json()["results"]

    assert [r["status"] for r in results] == ["created", "updated"]
    assert results[0]["deal"] == results[1]["deal"]
    assert str(Deal.objects.get().amount) == "50.00"


def test_mixed_batch_keeps_good_items_and_quarantines_bad_ones_with_field_errors(org):
    client = TokenClient(org.manager, team=org.east)
    batch = {
        "leads": [
            lead(1),
            lead(2, email="not-an-email"),
            lead(3, amount="-5"),
            {"source": "webform", "company": "No id"},
            "just a string",
            lead(6, currency="euro", phone="call me"),
            lead(7),
        ]
    }

    response = client.post(batch)

    assert response.status_code == 201
    results = response.json()["results"]
    assert [r["status"] for r in results] == ["created", "error", "error", "error", "error", "error", "created"]
    assert results[1]["errors"] == {"email": ["Enter a valid email address."]}
    assert list(results[2]["errors"]) == ["amount"]
    assert results[3]["errors"] == {"external_id": ["This field is required."]}
    assert results[4]["errors"] == {"non_field_errors": ["Each lead must be a JSON object."]}
    assert set(results[5]["errors"]) == {"currency", "phone"}
    assert response.json()["totals"]["error"] == 5
    assert Deal.objects.count() == 2
    quarantine = client.get(LEADS_URL, status="error").json()["results"]
    assert sorted(r["index"] for r in quarantine) == [1, 2, 3, 4, 5]
    assert next(r for r in quarantine if r["index"] == 1)["payload"]["email"] == "not-an-email"
    assert next(r for r in quarantine if r["index"] == 4)["payload"] == {"value": "just a string"}


def test_a_batch_where_everything_fails_answers_200_with_errors(org):
    client = TokenClient(org.manager, team=org.east)

    response = client.post({"leads": [lead(1, email="x")]})

    assert response.status_code == 200
    assert response.json()["totals"]["error"] == 1


def test_malformed_json_is_a_400_with_a_clear_message(org):
    client = TokenClient(org.manager, team=org.east)

    response = client.post_raw('{"leads": [{"source": "a",')

    assert response.status_code == 400
    assert response.json()["errors"]["non_field_errors"][0].startswith("Malformed JSON")
    assert IntakeRecord.objects.count() == 0


@pytest.mark.parametrize(
    ("body", "field"),
    [('{"leads": {"source": "a"}}', "leads"), ('{"leads": []}', "leads"), ("42", "non_field_errors")],
)
def test_wrong_shapes_are_400(org, body, field):
    client = TokenClient(org.manager, team=org.east)

    response = client.post_raw(body)

    assert response.status_code == 400
    assert field in response.json()["errors"]


def test_more_than_1000_leads_is_413(org):
    client = TokenClient(org.manager, team=org.east)

    response = client.post({"leads": [lead(i) for i in range(1001)]})

    assert response.status_code == 413
    assert "at most 1000" in response.json()["detail"]
    assert Deal.objects.count() == 0


def test_a_body_over_the_size_limit_is_413_before_parsing(org, monkeypatch):
    monkeypatch.setattr(intake_views, "MAX_BODY_BYTES", 2000)
    client = TokenClient(org.manager, team=org.east)

    response = client.post({"leads": [lead(i, notes="x" * 500) for i in range(5)]})

    assert response.status_code == 413
    assert Deal.objects.count() == 0


def test_non_json_content_type_is_415(org):
    client = TokenClient(org.manager, team=org.east)

    response = client.post_raw("source=a", content_type="application/x-www-form-urlencoded")

    assert response.status_code == 415


def test_a_token_without_leads_write_is_refused(org):
    client = TokenClient(org.manager, scopes=("deals:read",), team=org.east)

    response = client.post(lead(1))

    assert response.status_code == 403
    assert Deal.objects.count() == 0


def test_anonymous_callers_are_refused(db):
    from django.test import Client

    response = Client().post(LEADS_URL, data=json.dumps(lead(1)), content_type="application/json")

    assert response.status_code == 401


def test_session_users_can_push_leads_into_their_team(org):
    from rest_framework.test import APIClient

    client = APIClient()
    client.force_login(org.alice)

    response = client.post(LEADS_URL, {"leads": [lead(1), lead(2)]}, format="json")

    assert response.status_code == 201
    assert set(Deal.objects.values_list("owner__username", flat=True)) == {"alice", "bob"}
    assert set(Deal.objects.values_list("team__name", flat=True)) == {"East"}


def test_a_100_lead_batch_uses_a_bounded_number_of_queries(org, django_assert_max_num_queries):
    client = TokenClient(org.manager, team=org.east)
    client.post({"leads": [lead(1000 + i) for i in range(5)]})  # warm up: token lookup, gates

    with django_assert_max_num_queries(30) as small:
        client.post({"leads": [lead(i) for i in range(10)]})
    with django_assert_max_num_queries(30) as large:
        client.post({"leads": [lead(i) for i in range(100, 200)]})
    with django_assert_max_num_queries(20) as replay:
        client.post({"leads": [lead(i) for i in range(100, 200)]})

    if connection.vendor == "postgresql":
        assert len(large.captured_queries) == len(small.captured_queries)
    else:  # SQLite splits a bulk INSERT into chunks of at most 999 parameters
        assert len(large.captured_queries) <= len(small.captured_queries) + 6
    assert Deal.objects.count() == 115
    assert len(replay.captured_queries) < len(large.captured_queries)


def test_an_admin_gate_on_prep_applies_to_intake_too(org):
    from pipeline.models import StageGate

    StageGate.objects.create(stage=Stage.PREP, field="amount", rule="positive")
    client = TokenClient(org.manager, team=org.east)

    results = client.post({"leads": [lead(1, amount=None), lead(2, amount="10.00")]}).json()["results"]

    assert [r["status"] for r in results] == ["error", "created"]
    assert results[0]["errors"] == {"amount": ["Amount must be greater than zero to enter this stage."]}
    assert Deal.objects.count() == 1


def test_characters_a_database_cannot_hold_are_field_errors_and_the_item_is_still_quarantined(org):
    # given: a NUL character in a value and in a key (PostgreSQL text cannot store U+0000)
    client = TokenClient(org.manager, team=org.east)
    bad = {**lead(1, company="Acme\u0000 Ltd"), "extra\u0000key": ["\u0000"]}

    # when
    response = client.post({"leads": [bad, lead(2)]})

    # then: the bad item is a field error, kept in quarantine; the good one is created
    assert response.status_code == 201
    results = response.json()["results"]
    assert [r["status"] for r in results] == ["error", "created"]
    assert list(results[0]["errors"]) == ["company"]
    record = IntakeRecord.objects.get(status="error")
    assert record.payload["company"] == "Acme\ufffd Ltd"
    assert "extra\ufffdkey" in record.payload


def test_pushed_leads_show_at_once_in_the_deal_lists_cached_count(org):
    """The deal list caches its count briefly; the bulk path of intake (no save signals) renews it itself."""
    reader = TokenClient(org.manager, scopes=("deals:read",))
    before = reader.get("/api/v1/deals/").json()["count"]
    assert reader.get("/api/v1/deals/").json()["count"] == before  # now served from the cache

    pushed = TokenClient(org.manager, team=org.east).post({"leads": [lead(i) for i in range(3)]})

    assert pushed.status_code == 201
    assert reader.get("/api/v1/deals/").json()["count"] == before + 3
    assert reader.get("/api/v1/deals/", source="webform").json()["count"] == 3
