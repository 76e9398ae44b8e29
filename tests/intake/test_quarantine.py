"""The quarantine: refused leads are kept, listed to the right people, fixed and re-run."""

from __future__ import annotations

from pipeline.models import Deal, IntakeRecord
from tests.intake.helpers import LEADS_URL, TokenClient, lead


def quarantined(client: TokenClient, **fields) -> IntakeRecord:
    client.post({"leads": [lead(1, **fields)]})
    return IntakeRecord.objects.get(status="error")


def test_a_fixed_lead_is_re_run_and_creates_its_deal(org):
    client = TokenClient(org.manager, team=org.east)
    record = quarantined(client, email="jane(at)acme")

    response = client.post_json(f"{LEADS_URL}{record.pk}/retry/", {"email": "jane@acme.example"})

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "created"
    assert body["errors"] == {}
    assert body["attempts"] == 2
    deal = Deal.objects.get(pk=body["deal"])
    assert deal.contact.email == "jane@acme.example"
    assert IntakeRecord.objects.filter(status="error").count() == 0


def test_a_still_invalid_fix_answers_400_and_keeps_the_record_quarantined(org):
    client = TokenClient(org.manager, team=org.east)
    record = quarantined(client, amount="lots")

    response = client.post_json(f"{LEADS_URL}{record.pk}/retry/", {"amount": "-1"})

    assert response.status_code == 400
    assert "amount" in response.json()["errors"]
    record.refresh_from_db()
    assert record.status == "error"
    assert Deal.objects.count() == 0


def test_a_fix_with_a_nul_character_is_refused_and_the_record_kept(org):
    """PostgreSQL text cannot hold NUL: the fix is a field error, the record stays (was a 500 on PostgreSQL)."""
    client = TokenClient(org.manager, team=org.east)
    record = quarantined(client, amount="lots")

    response = client.post_json(f"{LEADS_URL}{record.pk}/retry/", {"amount": "5", "company": "Acme\u0000 Ltd"})

    assert response.status_code == 400
    assert "company" in response.json()["errors"]
    record.refresh_from_db()
    assert (record.status, record.attempts) == ("error", 2)
    assert record.payload["company"] == "Acme\ufffd Ltd"
    assert Deal.objects.count() == 0


def test_only_quarantined_records_can_be_re_run(org):
    client = TokenClient(org.manager, team=org.east)
    client.post(lead(1))
    record = IntakeRecord.objects.get()

    response = client.post_json(f"{LEADS_URL}{record.pk}/retry/", {"amount": "5"})

    assert response.status_code == 400
    assert "status" in response.json()["errors"]


def test_a_quarantined_lead_whose_deal_appeared_meanwhile_becomes_an_update(org):
    client = TokenClient(org.manager, team=org.east)
    record = quarantined(client, phone="??")
    client.post(lead(1))  # the source re-sent a clean copy

    body = client.post_json(f"{LEADS_URL}{record.pk}/retry/", {"phone": "+1 555 0100"}).json()

    assert body["status"] == "updated"
    assert Deal.objects.count() == 1


def test_records_are_listed_only_to_the_people_concerned(org):
    east = TokenClient(org.manager, team=org.east)
    west = TokenClient(org.mgr_west, team=org.west)
    east.post({"leads": [lead(1), lead(2, email="bad")]})
    west.post({"leads": [lead(3), lead(4, email="bad")]})

    east_view = east.get(LEADS_URL).json()["results"]
    west_view = west.get(LEADS_URL, status="error").json()["results"]

    assert sorted(r["external_id"] for r in east_view) == ["L-1", "L-2"]
    assert [r["external_id"] for r in west_view] == ["L-4"]
    other = IntakeRecord.objects.get(external_id="L-2")
    assert west.get(f"{LEADS_URL}{other.pk}/").status_code == 404
    assert west.post_json(f"{LEADS_URL}{other.pk}/retry/", {"email": "ok@ok.example"}).status_code == 404


def test_a_rep_sees_the_records_of_their_own_deals(org):
    east = TokenClient(org.manager, team=org.east)
    east.post({"leads": [lead(1, owner="alice"), lead(2, owner="bob")]})
    alice = TokenClient(org.alice)

    records = alice.get(LEADS_URL).json()["results"]

    assert [r["external_id"] for r in records] == ["L-1"]


def test_the_list_filters_by_source(org):
    client = TokenClient(org.manager, team=org.east)
    client.post({"leads": [lead(1, source="fair"), lead(2, source="web")]})

    records = client.get(LEADS_URL, source="fair").json()["results"]

    assert [r["external_id"] for r in records] == ["L-1"]


def test_listing_records_has_a_constant_query_count(org, django_assert_max_num_queries):
    client = TokenClient(org.manager, team=org.east)
    client.post({"leads": [lead(1, email="bad")]})
    with django_assert_max_num_queries(12) as one:
        client.get(LEADS_URL)
    client.post({"leads": [lead(i, email="bad") for i in range(2, 100)]})

    with django_assert_max_num_queries(12) as many:
        response = client.get(LEADS_URL, page_size=100)

    assert len(response.json()["results"]) == 99
    assert len(many.captured_queries) == len(one.captured_queries)


def test_a_bad_lead_sent_again_updates_its_quarantine_record(org):
    east = TokenClient(org.manager, team=org.east)
    record = quarantined(east, email="jane(at)acme")

    east.post({"leads": [lead(1, email="jane(at)acme", phone="12")]})
    TokenClient(org.mgr_west, team=org.west).post({"leads": [lead(1, email="jane(at)acme")]})

    record.refresh_from_db()
    assert record.attempts == 2
    assert set(record.errors) == {"email", "phone"}  # the latest errors
    # the other team's quarantine is its own: its manager sees a record of their own
    assert IntakeRecord.objects.filter(status="error").count() == 2
    assert IntakeRecord.objects.get(status="error", team=org.west).attempts == 1
