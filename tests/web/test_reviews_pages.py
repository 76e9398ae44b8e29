"""Review pages: list and completion, scope (drafts are 404 for reps), the whole workflow through the pages."""

from __future__ import annotations

import re

import pytest

from pipeline.models import Stage
from reviews.models import ActionItem, CycleKind, Review, ReviewCycle, ReviewStatus
from reviews.services import review_drafts_create
from targets.models import Quota
from tests.factories import make_deal, rep

pytestmark = pytest.mark.django_db

PERIOD = "2026-10"


def _review(user, team, *, status=ReviewStatus.DRAFT, period=PERIOD, **fields) -> Review:
    cycle, _ = ReviewCycle.objects.get_or_create(team=team, kind=CycleKind.MONTH)
    return Review.objects.create(cycle=cycle, user=user, period=period, status=status, **fields)


def test_list_shows_completion_per_team_for_managers(login, org):
    _review(org.alice, org.east)
    _review(org.bob, org.east, status=ReviewStatus.SHARED, rating=4)
    _review(org.nina, org.east_north, status=ReviewStatus.CLOSED, rating=3)
    _review(org.dave, org.west, status=ReviewStatus.SHARED, rating=2)

    html = login(org.manager).get("/reviews/").content.decode()

    east = html[html.index('data-testid="completion-East"') :]
    east = east[: east.index("</tr>")]
    # total, draft, shared, acknowledged, closed (East North has its own row)
    assert re.findall(r'<td class="num">(?:<a [^>]*>)?(\d+)', east) == ["2", "1", "1", "0", "0"]
    assert 'data-testid="completion-East North"' in html
    assert "completion-West" not in html
    assert str(org.alice) in html
    assert str(org.dave) not in html


def test_list_filters_by_status_and_team(login, org):
    _review(org.alice, org.east)
    _review(org.bob, org.east, status=ReviewStatus.SHARED, rating=4)
    _review(org.nina, org.east_north)
    client = login(org.manager)

    shared = client.get("/reviews/", {"period": PERIOD, "status": "shared"}).content.decode()
    north = client.get("/reviews/", {"period": PERIOD, "team": org.east_north.pk}).content.decode()

    table = shared[shared.index('data-testid="review-table"') :]
    assert str(org.bob) in table
    assert str(org.alice) not in table
    north_table = north[north.index('data-testid="review-table"') :]
    assert str(org.nina) in north_table
    assert str(org.alice) not in north_table
    assert client.get("/reviews/", {"team": org.west.pk}).status_code == 404


@pytest.mark.parametrize("bad", ["2026-13", "nonsense", "\x00", "2026-W60"])
def test_a_period_that_cannot_exist_is_a_404_like_an_unknown_status(login, org, bad):
    _review(org.alice, org.east)
    client = login(org.manager)

    assert client.get("/reviews/", {"period": bad}).status_code == 404
    listed = client.get("/reviews/", {"period": f" {PERIOD} "}).content.decode()
    assert str(org.alice) in listed[listed.index('data-testid="review-table"') :]


def test_rep_sees_only_their_shared_reviews(login, org):
    draft = _review(org.alice, org.east, period="2026-09")
    shared = _review(org.alice, org.east, status=ReviewStatus.SHARED, rating=4)
    bobs = _review(org.bob, org.east, status=ReviewStatus.SHARED, rating=4)
    client = login(org.alice)

    html = client.get("/reviews/").content.decode()

    assert f"/reviews/{shared.pk}/" in html
    assert f"/reviews/{draft.pk}/" not in html
    assert 'data-testid="completion"' not in html
    assert client.get(f"/reviews/{draft.pk}/").status_code == 404
    assert client.get(f"/reviews/{bobs.pk}/").status_code == 404
    assert client.get(f"/reviews/{shared.pk}/").status_code == 200


def test_other_team_manager_gets_404(login, org):
    review = _review(org.alice, org.east)
    assert login(org.mgr_west).get(f"/reviews/{review.pk}/").status_code == 404
    assert login(org.mgr_west).post(f"/reviews/{review.pk}/edit/", {"rating": "5"}).status_code == 404
    assert login(org.admin).get(f"/reviews/{review.pk}/").status_code == 200


def test_scorecard_is_rendered_with_stage_labels(login, org):
    Quota.objects.create(period=PERIOD, user=org.alice, stage=Stage.PREP, value=4)
    deal = make_deal(owner=org.alice, stage=Stage.CONTACT)
    deal.transitions.update(occurred_at="2026-10-05T10:00:00+08:00")
    review_drafts_create(period=PERIOD)
    review = Review.objects.get(user=org.alice, period=PERIOD)

    html = login(org.manager).get(f"/reviews/{review.pk}/").content.decode()

    prep = html[html.index('data-testid="score-prep"') :]
    prep = prep[: prep.index("</tr>")]
    assert "Preparation (research)" in prep
    assert ">1<" in prep
    assert ">4<" in prep
    assert "25 %" in prep
    assert 'id="scorecard-data"' in html


def test_full_workflow_through_the_pages(login, org, client):
    review = _review(org.alice, org.east)
    manager = login(org.manager)

    # sharing without a rating fails with a clear message, nothing changes
    manager.post(f"/reviews/{review.pk}/share/", {"confirm": "yes"})
    review.refresh_from_db()
    assert review.status == ReviewStatus.DRAFT

    saved = manager.post(
        f"/reviews/{review.pk}/edit/",
        {
            "rating": "4",
            "strengths": "Great prospecting",
            "improvements": "Close faster",
            "manager_comment": "Well done",
        },
    )
    assert saved.status_code == 302
    added = manager.post(f"/reviews/{review.pk}/items/", {"text": "Shadow a senior rep", "due_date": "2026-11-30"})
    assert added.status_code == 302

    ask = manager.post(f"/reviews/{review.pk}/share/")
    assert 'data-testid="confirm-share"' in ask.content.decode()
    review.refresh_from_db()
    assert review.status == ReviewStatus.DRAFT
    manager.post(f"/reviews/{review.pk}/share/", {"confirm": "yes"})
    review.refresh_from_db()
    assert review.status == ReviewStatus.SHARED
    assert review.rating == 4

    rep_client = login(org.alice)
    page = rep_client.get(f"/reviews/{review.pk}/").content.decode()
    assert "Great prospecting" in page
    assert "Shadow a senior rep" in page
    assert 'data-testid="review-form"' not in page  # reps do not edit the assessment
    assert rep_client.post(f"/reviews/{review.pk}/edit/", {"rating": "5"}).status_code == 400
    item = ActionItem.objects.get(review=review)
    rep_client.post(f"/reviews/{review.pk}/items/{item.pk}/done/", {"done": "yes"})
    ask = rep_client.post(
        f"/reviews/{review.pk}/comment/", {"rep_comment": "Thanks,\nagreed.", "acknowledge": "yes"}
    ).content.decode()
    assert 'data-testid="confirm-acknowledge"' in ask
    assert '<textarea name="rep_comment" hidden>Thanks,\nagreed.</textarea>' in ask  # the comment is kept
    review.refresh_from_db()
    assert review.status == ReviewStatus.SHARED
    rep_client.post(
        f"/reviews/{review.pk}/comment/", {"rep_comment": "Thanks, agreed.", "acknowledge": "yes", "confirm": "yes"}
    )
    review.refresh_from_db()
    item.refresh_from_db()
    assert review.status == ReviewStatus.ACKNOWLEDGED
    assert review.rep_comment == "Thanks, agreed."
    assert item.is_done

    manager = login(org.manager)
    assert 'data-testid="confirm-close"' in manager.post(f"/reviews/{review.pk}/close/").content.decode()
    review.refresh_from_db()
    assert review.status == ReviewStatus.ACKNOWLEDGED
    manager.post(f"/reviews/{review.pk}/close/", {"confirm": "yes"})
    review.refresh_from_db()
    assert review.status == ReviewStatus.CLOSED
    assert review.rating == 4

    history = manager.get(f"/reviews/{review.pk}/").content.decode()
    history = history[history.index('data-testid="history"') :]
    assert "Great prospecting" in history
    assert "Thanks, agreed." in history
    # readable values: status labels, local times, no internal flags or raw UTC timestamps
    assert "→ Shared" in history
    assert "→ Closed" in history
    assert "+00:00" not in history
    assert "True" not in history
    assert "edited by a person" not in history


def test_history_reads_in_chinese(login, org):
    review = _review(org.alice, org.east, rating=3)
    manager = login(org.manager)
    manager.post(f"/reviews/{review.pk}/share/", {"confirm": "yes"})

    page = manager.get(f"/reviews/{review.pk}/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()

    history = page[page.index('data-testid="history"') :]
    assert "→ 已分享" in history or "→ 已共享" in history
    assert "→ Shared" not in history


def test_bad_input_gives_field_errors(login, org):
    review = _review(org.alice, org.east)
    client = login(org.manager)
    bad = client.post(f"/reviews/{review.pk}/edit/", {"rating": "9"})
    assert bad.status_code == 400
    assert "Select a valid choice" in bad.content.decode()
    empty_item = client.post(f"/reviews/{review.pk}/items/", {"text": ""})
    assert empty_item.status_code == 400
    assert not ActionItem.objects.exists()


def test_rep_cannot_share_or_close(login, org):
    review = _review(org.alice, org.east, status=ReviewStatus.SHARED, rating=3)
    client = login(org.alice)
    assert client.post(f"/reviews/{review.pk}/close/", {"confirm": "yes"}).status_code == 403
    review.refresh_from_db()
    assert review.status == ReviewStatus.SHARED


def test_list_query_count_does_not_grow(login, org, django_assert_max_num_queries):
    for i in range(25):
        _review(rep(org.east, username=f"r{i:02d}"), org.east)
    client = login(org.manager)
    with django_assert_max_num_queries(12):
        response = client.get("/reviews/", {"period": PERIOD})
    assert response.content.decode().count("/reviews/") >= 25


def test_the_list_picks_the_latest_period_not_the_last_in_text_order(login, org):
    # given: a quarterly review of 2026-Q2 ("Q" sorts after "1" as text) and a monthly one of 2026-10
    _review(org.alice, org.east, period="2026-10")
    cycle = ReviewCycle.objects.create(team=org.east, kind=CycleKind.QUARTER)
    Review.objects.create(cycle=cycle, user=org.bob, period="2026-Q2")

    response = login(org.manager).get("/reviews/")

    assert response.context["period"] == "2026-10"
    assert response.context["periods"] == ["2026-10", "2026-Q2"]


def test_manager_edits_and_deletes_action_items_of_a_draft(login, org):
    review = _review(org.alice, org.east)
    keep = ActionItem.objects.create(review=review, text="Call the pilot customer")
    drop = ActionItem.objects.create(review=review, text="Typo item")
    client = login(org.manager)

    # edit in place: the form opens prefilled, a blank text is refused, a good one saved
    page = client.get(f"/reviews/{review.pk}/", {"edit_item": keep.pk}).content.decode()
    assert 'data-testid="edit-item"' in page
    assert 'name="edit-text" value="Call the pilot customer"' in page
    bad = client.post(f"/reviews/{review.pk}/items/{keep.pk}/edit/", {"edit-text": "  ", "edit-due_date": ""})
    assert bad.status_code == 400
    assert "This field is required." in bad.content.decode()
    edit = {"edit-text": "Call ACME", "edit-due_date": "2026-12-05"}
    client.post(f"/reviews/{review.pk}/items/{keep.pk}/edit/", edit)
    keep.refresh_from_db()
    assert (keep.text, str(keep.due_date)) == ("Call ACME", "2026-12-05")

    # delete asks first
    ask = client.post(f"/reviews/{review.pk}/items/{drop.pk}/delete/").content.decode()
    assert 'data-testid="confirm-delete-item"' in ask
    assert ActionItem.objects.filter(pk=drop.pk).exists()
    client.post(f"/reviews/{review.pk}/items/{drop.pk}/delete/", {"confirm": "yes"})
    assert list(ActionItem.objects.filter(review=review).values_list("text", flat=True)) == ["Call ACME"]


def test_shared_items_stay_on_the_record_and_reps_cannot_edit_them(login, org):
    review = _review(org.alice, org.east, status=ReviewStatus.SHARED, rating=3)
    item = ActionItem.objects.create(review=review, text="Agreed with the rep")

    manager_page = login(org.manager).get(f"/reviews/{review.pk}/").content.decode()
    refused = login(org.manager).post(f"/reviews/{review.pk}/items/{item.pk}/delete/", {"confirm": "yes"})
    rep = login(org.alice)
    rep_edit = rep.post(f"/reviews/{review.pk}/items/{item.pk}/edit/", {"edit-text": "Changed by rep"})

    assert "Edit</a>" in manager_page  # a shared item can still be corrected …
    assert f"/items/{item.pk}/delete/" not in manager_page  # … but not removed
    assert refused.status_code == 400
    assert rep_edit.status_code == 400
    assert "Only the rep&#x27;s manager can change this." in rep_edit.content.decode()
    assert "Edit</a>" not in rep.get(f"/reviews/{review.pk}/").content.decode()
    item.refresh_from_db()
    assert item.text == "Agreed with the rep"
