"""My pipeline: the board, htmx moves (success, gate failure and fill-in, conflict), quick-add, filters."""

from __future__ import annotations

import datetime
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from pipeline.models import Account, Activity, ActivityKind, Contact, Deal, DealStatus, Stage, StageTransition
from pipeline.services import activity_log, deal_lose, deal_move
from tests.factories import AccountFactory, ContactFactory, lost_reason, make_deal
from tests.web.conftest import hx

pytestmark = pytest.mark.django_db


def _column(html: str, stage: str) -> str:
    """The HTML of one board column."""
    start = html.index(f'<ol class="board-list" data-stage="{stage}"')
    return html[start : html.index("</ol>", start)]


def test_board_shows_six_columns_with_counts_and_sums(login, org):
    make_deal(owner=org.alice, stage=Stage.CONTACT, title="Alpha", amount=Decimal("12000"))
    make_deal(owner=org.alice, stage=Stage.CONTACT, title="Beta", amount=Decimal("3000.50"))
    make_deal(owner=org.alice, stage=Stage.SIGNING, title="Won one")
    lost = make_deal(owner=org.alice, stage=Stage.NEEDS, title="Gone")
    deal_lose(deal=lost, reason=lost_reason(), actor=org.alice)
    make_deal(owner=org.bob, stage=Stage.CONTACT, title="Bob's deal")

    html = login(org.alice).get("/pipeline/").content.decode()

    for label in (
        "Preparation (research)",
        "First contact",
        "Needs analysis",
        "Proposal &amp; quote",
        "Negotiation &amp; follow-up",
        "Signing &amp; delivery",
    ):
        assert f">{label}</h2>" in html
    assert "Alpha" in _column(html, "contact")
    assert "Beta" in _column(html, "contact")
    assert 'data-testid="count-contact">2 deals<' in html
    assert "CN¥15,000.50" in html
    assert "Won one" in _column(html, "signing")
    assert "Gone" not in html  # lost deals leave the board
    assert "Bob" not in html  # reps see only their own deals


def test_card_shows_company_age_next_task_and_stale_badge(login, org):
    deal = make_deal(owner=org.alice, stage=Stage.PREP, title="Quiet deal")
    activity_log(
        deal=deal,
        kind=ActivityKind.TASK,
        subject="Send the brochure",
        actor=org.alice,
        due_at=timezone.now() + timedelta(days=2),
    )
    activity_log(
        deal=deal,
        kind=ActivityKind.TASK,
        subject="Later task",
        actor=org.alice,
        due_at=timezone.now() + timedelta(days=9),
    )
    old = timezone.now() - timedelta(days=20)
    Deal.objects.filter(pk=deal.pk).update(stage_entered_at=old, last_activity_at=old)

    card = _column(login(org.alice).get("/pipeline/").content.decode(), "prep")

    assert deal.account.name in card
    assert "20 days" in card
    assert "Send the brochure" in card
    assert "Later task" not in card
    assert ">Stale</span>" in card


def test_stale_filter_keeps_only_stale_deals(login, org):
    quiet = make_deal(owner=org.alice, stage=Stage.PREP, title="Quiet deal")
    make_deal(owner=org.alice, stage=Stage.PREP, title="Busy deal")
    old = timezone.now() - timedelta(days=30)
    Deal.objects.filter(pk=quiet.pk).update(last_activity_at=old)

    html = login(org.alice).get("/pipeline/?stale=on").content.decode()

    assert "Quiet deal" in html
    assert "Busy deal" not in html


def test_a_never_touched_deal_is_stale_by_its_age_like_the_nightly_flag(login, org):
    """No activity ever recorded (e.g. loaded by a script): the clock runs from creation, as in the nightly
    job — not from the last move, which would hide an old untouched deal that was just moved."""
    from targets.selectors.outcomes import stale_deals
    from targets.selectors.scope import Scope

    old = make_deal(owner=org.alice, stage=Stage.CONTACT, title="Old untouched")
    young = make_deal(owner=org.alice, stage=Stage.CONTACT, title="Young untouched")
    now = timezone.now()
    Deal.objects.filter(pk=old.pk).update(
        last_activity_at=None, created_at=now - timedelta(days=40), stage_entered_at=now - timedelta(days=1)
    )
    Deal.objects.filter(pk=young.pk).update(last_activity_at=None, created_at=now - timedelta(days=2))

    client = login(org.alice)
    card = _column(client.get("/pipeline/").content.decode(), "contact")
    only_stale = client.get("/pipeline/?stale=on").content.decode()

    assert card.count(">Stale</span>") == 1
    assert "Old untouched" in only_stale
    assert "Young untouched" not in only_stale
    assert [d.pk for d in stale_deals(scope=Scope.for_user(org.alice))] == [old.pk]


def test_search_and_close_month_filters(login, org):
    make_deal(
        owner=org.alice, stage=Stage.NEGOTIATION, title="December deal", expected_close_date=datetime.date(2026, 12, 5)
    )
    make_deal(
        owner=org.alice, stage=Stage.NEGOTIATION, title="January deal", expected_close_date=datetime.date(2027, 1, 5)
    )
    client = login(org.alice)

    by_month = client.get("/pipeline/?close_month=2026-12").content.decode()
    by_search = client.get("/pipeline/?q=janu").content.decode()
    bad = client.get("/pipeline/?close_month=December")

    assert "December deal" in by_month
    assert "January deal" not in by_month
    assert "January deal" in by_search
    assert "December deal" not in by_search
    assert bad.status_code == 200
    assert "Enter a month as YYYY-MM." in bad.content.decode()


def test_htmx_filter_answers_only_the_board(login, org):
    make_deal(owner=org.alice, stage=Stage.PREP, title="Alpha")

    response = login(org.alice).get("/pipeline/?q=alp", **hx("http://testserver/pipeline/"))

    html = response.content.decode()
    assert html.lstrip().startswith('<div id="board"')
    assert "<html" not in html
    assert "Alpha" in html


def test_manager_sees_the_team_and_can_pick_an_owner(login, org):
    make_deal(owner=org.alice, stage=Stage.PREP, title="Alice deal")
    make_deal(owner=org.nina, stage=Stage.PREP, title="Nina deal")  # sub-team
    make_deal(owner=org.dave, stage=Stage.PREP, title="Dave deal")  # other team
    client = login(org.manager)

    everyone = client.get("/pipeline/").content.decode()
    only_alice = client.get(f"/pipeline/?owner={org.alice.pk}").content.decode()

    assert "Alice deal" in everyone
    assert "Nina deal" in everyone
    assert "Dave deal" not in everyone
    assert 'name="owner"' in everyone
    assert "Alice deal" in only_alice
    assert "Nina deal" not in only_alice


def test_rep_has_no_owner_picker(login, org):
    assert 'name="owner"' not in login(org.alice).get("/pipeline/").content.decode()


def test_drag_move_succeeds_and_answers_the_board(login, org):
    deal = make_deal(owner=org.alice, stage=Stage.NEEDS, title="Alpha", needs_summary="Pilot", amount=Decimal(5))

    response = login(org.alice).post(
        f"/deals/{deal.pk}/move/",
        {"to_stage": "proposal", "expected_stage": "needs", "source": "board"},
        **hx("http://testserver/pipeline/?q=alp"),
    )

    assert response.status_code == 200
    assert response["HX-Retarget"] == "#board"
    html = response.content.decode()
    assert "Alpha" in _column(html, "proposal")
    assert "Moved “Alpha” to Proposal &amp; quote." in html  # flash message swapped out of band
    deal.refresh_from_db()
    assert deal.stage == Stage.PROPOSAL
    t = StageTransition.objects.filter(deal=deal).latest("pk")
    assert (t.from_stage, t.to_stage, t.channel, t.actor_id) == ("needs", "proposal", "ui", org.alice.pk)


def test_failed_gate_returns_a_form_for_the_missing_fields_and_saves_nothing(login, org):
    deal = make_deal(owner=org.alice, stage=Stage.CONTACT, title="Alpha")

    response = login(org.alice).post(
        f"/deals/{deal.pk}/move/", {"to_stage": "proposal", "expected_stage": "contact", "source": "board"}, **hx()
    )

    assert response.status_code == 400
    html = response.content.decode()
    assert 'class="deal-card card-gate"' in html
    assert "Contact person" in html
    assert "Needs summary" in html
    assert "Amount" in html
    assert "Expected close date" not in html
    assert "Contact person is required to enter this stage." in html
    deal.refresh_from_db()
    assert deal.stage == Stage.CONTACT
    assert StageTransition.objects.filter(deal=deal).count() == 2


def test_submitting_the_gate_form_fills_the_fields_and_moves(login, org):
    deal = make_deal(owner=org.alice, stage=Stage.CONTACT, title="Alpha")
    data = {
        "gate": "1",
        "source": "board",
        "to_stage": "proposal",
        "expected_stage": "contact",
        "gate_fields": ["contact", "needs_summary", "amount"],
        "new_contact_name": "Wang Lei",
        "needs_summary": "20 seats",
        "amount": "8000",
    }

    response = login(org.alice).post(f"/deals/{deal.pk}/move/", data, **hx())

    assert response.status_code == 200
    deal.refresh_from_db()
    assert deal.stage == Stage.PROPOSAL
    assert deal.contact.name == "Wang Lei"
    assert deal.contact.account_id == deal.account_id
    assert deal.needs_summary == "20 seats"
    assert deal.amount == Decimal("8000")
    assert list(deal.transitions.values_list("to_stage", flat=True)) == ["prep", "contact", "needs", "proposal"]


def test_invalid_gate_form_keeps_everything_unsaved(login, org):
    deal = make_deal(owner=org.alice, stage=Stage.CONTACT, title="Alpha")
    data = {
        "gate": "1",
        "source": "board",
        "to_stage": "proposal",
        "expected_stage": "contact",
        "gate_fields": ["contact", "needs_summary", "amount"],
        "new_contact_name": "Wang Lei",
        "needs_summary": "20 seats",
        "amount": "-3",
    }

    response = login(org.alice).post(f"/deals/{deal.pk}/move/", data, **hx())

    assert response.status_code == 400
    assert "Ensure this value is greater than or equal to 0.01." in response.content.decode()
    deal.refresh_from_db()
    assert deal.stage == Stage.CONTACT
    assert deal.needs_summary == ""
    assert deal.contact_id is None
    assert not Contact.objects.filter(name="Wang Lei").exists()


def test_gate_form_requires_a_contact_choice_or_name(login, org):
    deal = make_deal(owner=org.alice, stage=Stage.CONTACT, title="Alpha")
    existing = ContactFactory(account=deal.account, name="Li Na")
    client = login(org.alice)
    base = {
        "gate": "1",
        "source": "board",
        "to_stage": "needs",
        "expected_stage": "contact",
        "gate_fields": ["contact"],
    }

    missing = client.post(f"/deals/{deal.pk}/move/", base, **hx())
    chosen = client.post(f"/deals/{deal.pk}/move/", {**base, "contact": existing.pk}, **hx())

    assert missing.status_code == 400
    assert "Choose a contact person or add a new one." in missing.content.decode()
    assert chosen.status_code == 200
    deal.refresh_from_db()
    assert deal.stage == Stage.NEEDS
    assert deal.contact_id == existing.pk


def test_stale_expected_stage_refreshes_the_board_with_a_message(login, org):
    deal = make_deal(owner=org.alice, stage=Stage.NEEDS, title="Alpha", needs_summary="x", amount=Decimal(1))
    deal_move(deal=deal, to_stage=Stage.PROPOSAL, actor=org.manager)  # someone else moved it

    response = login(org.alice).post(
        f"/deals/{deal.pk}/move/", {"to_stage": "contact", "expected_stage": "needs", "source": "board"}, **hx()
    )

    assert response.status_code == 409
    assert response["HX-Retarget"] == "#board"
    html = response.content.decode()
    assert "was moved by someone else meanwhile" in html
    assert "Alpha" in _column(html, "proposal")
    deal.refresh_from_db()
    assert deal.stage == Stage.PROPOSAL


def test_move_menu_without_javascript_redirects_with_a_message(login, org):
    deal = make_deal(owner=org.alice, stage=Stage.PREP, title="Alpha")

    response = login(org.alice).post(
        f"/deals/{deal.pk}/move/", {"to_stage": "contact", "expected_stage": "prep", "next": "/pipeline/"}, follow=True
    )

    assert response.redirect_chain[0] == ("/pipeline/", 302)
    assert "Moved “Alpha” to First contact." in response.content.decode()
    deal.refresh_from_db()
    assert deal.stage == Stage.CONTACT


def test_move_menu_gate_failure_without_javascript_shows_a_page(login, org):
    deal = make_deal(owner=org.alice, stage=Stage.CONTACT, title="Alpha")

    response = login(org.alice).post(f"/deals/{deal.pk}/move/", {"to_stage": "needs", "expected_stage": "contact"})

    assert response.status_code == 400
    html = response.content.decode()
    assert "<html" in html
    assert "To move this deal to Needs analysis, fill in:" in html


def test_every_card_has_a_keyboard_move_menu(login, org):
    deal = make_deal(owner=org.alice, stage=Stage.PREP, title="Alpha")

    card = _column(login(org.alice).get("/pipeline/").content.decode(), "prep")

    assert "<summary>Move to…" in card
    assert card.count('name="to_stage"') == 5
    assert f'action="/deals/{deal.pk}/move/"' in card


def test_moving_someone_elses_deal_is_a_404(login, org):
    deal = make_deal(owner=org.bob, stage=Stage.PREP)

    response = login(org.alice).post(f"/deals/{deal.pk}/move/", {"to_stage": "contact"}, **hx())

    assert response.status_code == 404
    deal.refresh_from_db()
    assert deal.stage == Stage.PREP


def test_moving_to_an_unknown_stage_is_a_400(login, org):
    deal = make_deal(owner=org.alice, stage=Stage.PREP)

    response = login(org.alice).post(f"/deals/{deal.pk}/move/", {"to_stage": "heaven", "source": "board"}, **hx())

    assert response.status_code == 400
    deal.refresh_from_db()
    assert deal.stage == Stage.PREP


def test_moving_a_lost_deal_explains_why(login, org):
    deal = make_deal(owner=org.alice, stage=Stage.PREP, title="Alpha")
    deal_lose(deal=deal, reason=lost_reason(), actor=org.alice)

    response = login(org.alice).post(f"/deals/{deal.pk}/move/", {"to_stage": "contact", "source": "board"}, **hx())

    assert response.status_code == 400
    assert "Only open deals can be moved" in response.content.decode()


def test_quick_add_creates_a_deal_with_a_new_account(login, org):
    response = login(org.alice).post(
        "/pipeline/quick-add/", {"title": "New hope", "company": "Acme Robotics", "amount": "2500"}, **hx()
    )

    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="board" class="board-wrap" hx-swap-oob="true"' in html
    assert "New hope" in _column(html, "prep")
    deal = Deal.objects.get(title="New hope")
    assert (deal.owner, deal.stage, deal.amount, deal.account.name) == (
        org.alice,
        "prep",
        Decimal(2500),
        "Acme Robotics",
    )
    assert deal.transitions.get().channel == "ui"


def test_quick_add_reuses_an_existing_account_by_name(login, org):
    account = AccountFactory(owner=org.alice, name="Acme Robotics Ltd")

    login(org.alice).post("/pipeline/quick-add/", {"title": "Second", "company": "acme robotics"}, **hx())

    assert Deal.objects.get(title="Second").account == account
    assert Account.objects.count() == 1


def test_quick_add_shows_field_errors(login, org):
    response = login(org.alice).post("/pipeline/quick-add/", {"title": "", "company": "", "amount": "-1"}, **hx())

    assert response.status_code == 400
    html = response.content.decode()
    assert html.count("This field is required.") == 2
    assert "Ensure this value is greater than or equal to 0." in html
    assert not Deal.objects.exists()


def test_quick_add_without_javascript_redirects_to_the_board(login, org):
    response = login(org.alice).post("/pipeline/quick-add/", {"title": "Plain", "company": "Plain Co"}, follow=True)

    assert response.redirect_chain == [("/pipeline/", 302)]
    assert "Added “Plain” to Preparation." in response.content.decode()


def test_empty_board_explains_what_to_do(login, org):
    html = login(org.alice).get("/pipeline/").content.decode()

    assert "Your pipeline is empty." in html


def _bulk_open_deals(owner, team, n: int) -> None:
    now = timezone.now()
    accounts = Account.objects.bulk_create(
        Account(name=f"Co {i}", normalized_name=f"co {i}", owner=owner) for i in range(n // 10)
    )
    stages = [s for s in Stage if s != Stage.SIGNING]
    deals = Deal.objects.bulk_create(
        Deal(
            title=f"Deal {i}",
            account=accounts[i % len(accounts)],
            owner=owner,
            team=team,
            stage=stages[i % len(stages)],
            status=DealStatus.OPEN,
            amount=Decimal(1000 + i),
            stage_entered_at=now - timedelta(days=i % 40),
            last_activity_at=now - timedelta(days=i % 40),
        )
        for i in range(n)
    )
    Activity.objects.bulk_create(
        Activity(deal=d, kind=ActivityKind.TASK, subject=f"Task {d.pk}", due_at=now + timedelta(days=1), owner=owner)
        for d in deals
    )


def test_board_query_count_does_not_grow_with_300_open_deals(login, org, django_assert_max_num_queries):
    _bulk_open_deals(org.alice, org.east, 300)
    client = login(org.alice)

    with django_assert_max_num_queries(10):
        response = client.get("/pipeline/")

    # then: 60 deals a column, of which the 50 longest in their stage are cards and the rest a link
    html = response.content.decode()
    assert html.count('class="deal-card') == 5 * 50
    assert "Task " in html
    assert 'data-testid="count-prep">60 deals<' in html
    assert html.count("10 more deals in the deal list") == 5
    assert 'href="/deals/?stage=prep&amp;status=open" data-testid="more-prep"' in html
    assert 'data-testid="more-signing"' not in html


def test_the_more_link_keeps_the_boards_owner_and_search(login, org):
    _bulk_open_deals(org.alice, org.east, 300)
    client = login(org.manager)

    html = client.get("/pipeline/", {"owner": org.alice.pk, "q": "Deal"}).content.decode()

    link = f'href="/deals/?stage=needs&amp;status=open&amp;owner={org.alice.pk}&amp;search=Deal"'
    assert link in html
    listed = client.get(f"/deals/?stage=needs&status=open&owner={org.alice.pk}&search=Deal")
    assert listed.context["page_obj"].paginator.count == 60


def test_manager_board_query_count_with_300_deals(login, org, django_assert_max_num_queries):
    _bulk_open_deals(org.alice, org.east, 300)
    client = login(org.manager)

    with django_assert_max_num_queries(12):
        response = client.get("/pipeline/?stale=on")

    assert response.status_code == 200
    assert Deal.objects.count() == 300


def test_history_restore_after_back_gets_the_full_page(login, org):
    make_deal(owner=org.alice, stage=Stage.PREP, title="Alpha")

    response = login(org.alice).get("/pipeline/?q=alp", HTTP_HX_REQUEST="true", HTTP_HX_HISTORY_RESTORE_REQUEST="true")

    assert "<html" in response.content.decode()


def test_a_card_moved_into_a_full_column_stays_in_view(login, org):
    # given: 60 deals already wait in Proposal (the column shows 50)
    _bulk_open_deals(org.alice, org.east, 300)
    deal = make_deal(owner=org.alice, stage=Stage.NEEDS, title="Just moved", needs_summary="Pilot", amount=Decimal(5))

    # when: it is dragged to Proposal (newest in the stage, so it would rank 61st)
    response = login(org.alice).post(
        f"/deals/{deal.pk}/move/",
        {"to_stage": "proposal", "expected_stage": "needs", "source": "board"},
        **hx("http://testserver/pipeline/"),
    )

    # then: the answered board still shows its card, next to the link to the other ten
    page = response.content.decode()
    html = _column(page, "proposal")
    assert "Just moved" in html
    assert html.count('class="deal-card') == 51
    more = page[page.index('data-testid="more-proposal"') :]
    assert more.startswith('data-testid="more-proposal">10 more deals in the deal list')
