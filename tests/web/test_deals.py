"""Deal pages: list (search, filters, sorting, pagination), deal page, edit, activities, lose/reopen."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from pipeline.models import Activity, ActivityKind, DealStatus, Stage, StageTransition, TransitionKind
from pipeline.services import activity_log, deal_lose
from tests.factories import ContactFactory, lost_reason, make_deal
from tests.web.conftest import hx

pytestmark = pytest.mark.django_db


def test_deal_list_is_scoped_searchable_and_paginated(login, org):
    for i in range(30):
        make_deal(owner=org.alice, title=f"Alice deal {i:02d}")
    make_deal(owner=org.dave, title="Dave secret")
    client = login(org.alice)

    first = client.get("/deals/?ordering=title").content.decode()
    second = client.get("/deals/?ordering=title&page=2").content.decode()
    searched = client.get("/deals/?search=deal+07").content.decode()

    assert "Alice deal 00" in first
    assert "Alice deal 29" not in first
    assert "Alice deal 29" in second
    assert "Page 1 of 2 (30 items)" in first
    assert "Dave secret" not in first + second
    assert "Alice deal 07" in searched
    assert "Alice deal 08" not in searched


def test_deal_list_filters_by_stage_and_status_and_sorts_by_ladder(login, org):
    make_deal(owner=org.alice, title="In prep", stage=Stage.PREP)
    make_deal(owner=org.alice, title="In proposal", stage=Stage.PROPOSAL)
    gone = make_deal(owner=org.alice, title="Gone", stage=Stage.CONTACT)
    deal_lose(deal=gone, reason=lost_reason(), actor=org.alice)
    client = login(org.alice)

    proposals = client.get("/deals/?stage=proposal").content.decode()
    lost = client.get("/deals/?status=lost").content.decode()
    by_stage = client.get("/deals/?ordering=-stage").content.decode()

    assert "In proposal" in proposals
    assert "In prep" not in proposals
    assert "Gone" in lost
    assert "In prep" not in lost
    assert by_stage.index("In proposal") < by_stage.index("Gone") < by_stage.index("In prep")


def test_deal_list_htmx_answers_the_table_only(login, org):
    make_deal(owner=org.alice, title="Alpha")

    html = login(org.alice).get("/deals/?search=alp", **hx("http://testserver/deals/")).content.decode()

    assert html.lstrip().startswith('<div id="deal-table">')
    assert "Alpha" in html


def test_deal_list_query_count_does_not_grow_with_the_page(login, org, django_assert_max_num_queries):
    for i in range(30):
        make_deal(owner=org.alice, title=f"Deal {i}")
    client = login(org.manager)

    with django_assert_max_num_queries(12):
        response = client.get("/deals/?search=deal")

    assert response.content.decode().count('href="/deals/') >= 25


def test_deal_page_shows_details_activities_and_history(login, org):
    deal = make_deal(owner=org.alice, stage=Stage.NEEDS, title="Alpha")
    activity_log(deal=deal, kind=ActivityKind.CALL, subject="Intro call", actor=org.alice)

    html = login(org.alice).get(f"/deals/{deal.pk}/").content.decode()

    assert 'data-testid="deal-stage">Needs analysis<' in html
    assert "Intro call" in html
    assert "Created: Preparation (research)" in html
    assert "Moved forward: First contact → Needs analysis" in html
    assert 'name="title"' in html


def test_deal_out_of_scope_is_404_for_every_page(login, org):
    deal = make_deal(owner=org.dave, stage=Stage.PREP)
    client = login(org.alice)

    for url in (f"/deals/{deal.pk}/", f"/deals/{deal.pk}/lose/"):
        assert client.get(url).status_code == 404
    for url in (f"/deals/{deal.pk}/edit/", f"/deals/{deal.pk}/reopen/", f"/deals/{deal.pk}/activities/"):
        assert client.post(url, {"title": "x", "kind": "call", "subject": "x"}).status_code == 404
    assert not Activity.objects.filter(deal=deal).exists()


def test_manager_sees_team_deal_but_not_other_teams(login, org):
    east = make_deal(owner=org.nina, stage=Stage.PREP)
    west = make_deal(owner=org.dave, stage=Stage.PREP)
    client = login(org.manager)

    assert client.get(f"/deals/{east.pk}/").status_code == 200
    assert client.get(f"/deals/{west.pk}/").status_code == 404
    assert login(org.admin).get(f"/deals/{west.pk}/").status_code == 200


def test_edit_deal_saves_through_the_service(login, org):
    deal = make_deal(owner=org.alice, stage=Stage.NEEDS, title="Alpha")
    contact = deal.contact

    response = login(org.alice).post(
        f"/deals/{deal.pk}/edit/",
        {
            "title": "Alpha 2",
            "contact": contact.pk,
            "amount": "1234.50",
            "currency": "CNY",
            "expected_close_date": "2026-12-24",
            "needs_summary": "More seats",
            "source": "",
            "notes": "",
        },
        follow=True,
    )

    assert "Saved the deal." in response.content.decode()
    deal.refresh_from_db()
    assert deal.title == "Alpha 2"
    assert deal.amount == Decimal("1234.50")
    assert str(deal.expected_close_date) == "2026-12-24"


def test_edit_deal_shows_field_errors_and_saves_nothing(login, org):
    deal = make_deal(owner=org.alice, stage=Stage.PREP, title="Alpha")
    other_contact = ContactFactory()

    response = login(org.alice).post(
        f"/deals/{deal.pk}/edit/",
        {
            "title": "",
            "amount": "-5",
            "currency": "CNY",
            "contact": other_contact.pk,
            "expected_close_date": "not a date",
        },
    )

    assert response.status_code == 400
    html = response.content.decode()
    assert "This field is required." in html
    assert "Ensure this value is greater than or equal to 0." in html
    assert "Select a valid choice." in html
    assert "Enter a valid date." in html
    deal.refresh_from_db()
    assert deal.title == "Alpha"


def test_manager_can_reassign_a_deal_within_the_team(login, org):
    deal = make_deal(owner=org.alice, stage=Stage.PREP, title="Alpha")

    login(org.manager).post(
        f"/deals/{deal.pk}/edit/", {"title": "Alpha", "owner": org.bob.pk, "currency": "CNY"}, follow=True
    )

    deal.refresh_from_db()
    assert deal.owner == org.bob


def test_rep_cannot_reassign(login, org):
    deal = make_deal(owner=org.alice, stage=Stage.PREP, title="Alpha")

    login(org.alice).post(f"/deals/{deal.pk}/edit/", {"title": "Alpha", "owner": org.bob.pk, "currency": "CNY"})

    deal.refresh_from_db()
    assert deal.owner == org.alice


def test_log_a_call_with_htmx(login, org):
    deal = make_deal(owner=org.alice, stage=Stage.PREP)

    response = login(org.alice).post(
        f"/deals/{deal.pk}/activities/", {"kind": "call", "subject": "Discovery call", "body": "Went well"}, **hx()
    )

    assert response.status_code == 200
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="activities">')
    assert "Discovery call" in html
    activity = Activity.objects.get(deal=deal)
    assert (activity.kind, activity.owner, activity.done_at is not None) == ("call", org.alice, True)


def test_add_a_task_and_complete_it(login, org):
    deal = make_deal(owner=org.alice, stage=Stage.PREP)
    client = login(org.alice)
    due = (timezone.localdate() + timedelta(days=3)).isoformat()

    added = client.post(
        f"/deals/{deal.pk}/activities/", {"kind": "task", "subject": "Send quote", "due_on": due}, **hx()
    )
    task = Activity.objects.get(deal=deal, kind=ActivityKind.TASK)
    assert task.done_at is None
    assert "Open tasks" in added.content.decode()

    done = client.post(f"/deals/{deal.pk}/activities/{task.pk}/done/", **hx())

    assert done.status_code == 200
    task.refresh_from_db()
    assert task.done_at is not None
    assert "No open tasks." in done.content.decode()


def test_a_task_needs_a_due_date(login, org):
    deal = make_deal(owner=org.alice, stage=Stage.PREP)

    response = login(org.alice).post(f"/deals/{deal.pk}/activities/", {"kind": "task", "subject": "Later"}, **hx())

    assert response.status_code == 400
    assert "A task needs a due date." in response.content.decode()
    assert not Activity.objects.filter(deal=deal).exists()


def test_completing_a_task_of_another_deal_is_a_404(login, org):
    mine = make_deal(owner=org.alice, stage=Stage.PREP)
    theirs = make_deal(owner=org.dave, stage=Stage.PREP)
    task = activity_log(deal=theirs, kind=ActivityKind.TASK, subject="x", actor=org.dave, due_at=timezone.now())

    response = login(org.alice).post(f"/deals/{mine.pk}/activities/{task.pk}/done/")

    assert response.status_code == 404
    task.refresh_from_db()
    assert task.done_at is None


def test_lose_asks_for_confirmation_and_a_reason(login, org):
    deal = make_deal(owner=org.alice, stage=Stage.NEEDS, title="Alpha")
    client = login(org.alice)

    confirm = client.get(f"/deals/{deal.pk}/lose/").content.decode()
    missing = client.post(f"/deals/{deal.pk}/lose/", {"note": "no reason"})

    assert "Yes, mark as lost" in confirm
    assert missing.status_code == 400
    deal.refresh_from_db()
    assert deal.status == DealStatus.OPEN

    response = client.post(
        f"/deals/{deal.pk}/lose/",
        {"reason": lost_reason().pk, "note": "Too expensive", "expected_stage": "needs"},
        follow=True,
    )

    assert "is marked as lost" in response.content.decode()
    deal.refresh_from_db()
    assert deal.status == DealStatus.LOST
    assert deal.lost_note == "Too expensive"


def test_reopen_a_lost_deal_through_the_ui(login, org):
    deal = make_deal(owner=org.alice, stage=Stage.NEEDS, title="Alpha")
    deal_lose(deal=deal, reason=lost_reason(), actor=org.alice)
    client = login(org.alice)
    assert ">Reopen</button>" in client.get(f"/deals/{deal.pk}/").content.decode()

    response = client.post(f"/deals/{deal.pk}/reopen/", follow=True)

    assert "is open again" in response.content.decode()
    deal.refresh_from_db()
    assert (deal.status, deal.stage) == (DealStatus.OPEN, Stage.NEEDS)
    assert StageTransition.objects.filter(deal=deal).latest("pk").kind == TransitionKind.REOPEN


def test_reopening_an_open_deal_explains_why(login, org):
    deal = make_deal(owner=org.alice, stage=Stage.NEEDS)

    response = login(org.alice).post(f"/deals/{deal.pk}/reopen/", follow=True)

    assert "Only lost deals can be reopened" in response.content.decode()


def test_move_menu_on_the_deal_page(login, org):
    deal = make_deal(owner=org.alice, stage=Stage.PREP, title="Alpha")
    client = login(org.alice)

    response = client.post(f"/deals/{deal.pk}/move/", {"to_stage": "contact", "expected_stage": "prep"}, follow=True)

    assert response.redirect_chain == [(f"/deals/{deal.pk}/", 302)]
    assert 'data-testid="deal-stage">First contact<' in response.content.decode()


def test_deal_page_query_count(login, org, django_assert_max_num_queries):
    deal = make_deal(owner=org.alice, stage=Stage.NEGOTIATION)
    for i in range(20):
        activity_log(deal=deal, kind=ActivityKind.NOTE, subject=f"Note {i}", actor=org.alice)
    client = login(org.alice)

    with django_assert_max_num_queries(14):
        response = client.get(f"/deals/{deal.pk}/")

    assert response.content.decode().count("Note ") == 20


def test_bad_list_parameters_never_crash(login, org):
    make_deal(owner=org.alice, title="Alpha")
    client = login(org.manager)

    for query in ("owner=abc&stage=heaven", "page=999", "page=-1", "ordering=password", "created_after=yesterday"):
        response = client.get(f"/deals/?{query}")
        assert response.status_code == 200, query
    assert "Alpha" in client.get("/deals/?page=999").content.decode()  # last page instead of an error


def test_every_aria_reference_on_the_deal_list_points_at_an_element(login, org):
    import re

    html = login(org.manager).get("/deals/").content.decode()

    referenced = {i for ids in re.findall(r'aria-(?:describedby|labelledby)="([^"]+)"', html) for i in ids.split()}
    present = set(re.findall(r'\bid="([^"]+)"', html))
    assert "id_team_helptext" in referenced  # the team filter explains that it includes sub-teams
    assert referenced <= present
