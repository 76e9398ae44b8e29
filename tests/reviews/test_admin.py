from __future__ import annotations

from reviews.models import ActionItem, ReviewStatus
from reviews.services import review_update


def test_admin_lists_and_shows_review_history(org, make_review, client):
    review = make_review(org.alice, org.east, status=ReviewStatus.SHARED, rating=3)
    item = ActionItem.objects.create(review=review, text="Call back the pilot customer")
    review_update(review=review, actor=org.manager, strengths="Calm under pressure")
    client.force_login(org.admin)

    pages = {
        "cycles": client.get("/admin/reviews/reviewcycle/"),
        "reviews": client.get("/admin/reviews/review/"),
        "review": client.get(f"/admin/reviews/review/{review.pk}/change/"),
        "history": client.get(f"/admin/reviews/review/{review.pk}/history/"),
        "items": client.get("/admin/reviews/actionitem/"),
        "item": client.get(f"/admin/reviews/actionitem/{item.pk}/change/"),
    }

    assert {name: r.status_code for name, r in pages.items()} == dict.fromkeys(pages, 200)
    assert "Call back the pilot customer" in pages["items"].content.decode()
    assert str(org.manager) in pages["history"].content.decode()


def test_an_admin_edit_marks_the_review_touched(org, make_review, client):
    review = make_review(org.alice, org.east)
    client.force_login(org.admin)
    page = client.get(f"/admin/reviews/review/{review.pk}/change/")
    assert page.status_code == 200

    response = _admin_post(client, review, rating="3", strengths="Edited in the admin")

    assert response.status_code == 302, response.content.decode()[:2000]
    review.refresh_from_db()
    assert (review.strengths, review.touched_by_human, review.status) == ("Edited in the admin", True, "draft")


def _admin_post(client, review, **fields):
    data = {
        "cycle": review.cycle_id,
        "user": review.user_id,
        "reviewer": "",
        "period": review.period,
        "rating": str(review.rating or ""),
        "strengths": review.strengths,
        "improvements": "",
        "manager_comment": "",
        "rep_comment": "",
        "action_items-TOTAL_FORMS": "0",
        "action_items-INITIAL_FORMS": "0",
        "action_items-MIN_NUM_FORMS": "0",
        "action_items-MAX_NUM_FORMS": "1000",
        **fields,
    }
    return client.post(f"/admin/reviews/review/{review.pk}/change/", data)


def test_the_admin_refuses_a_period_that_does_not_exist(org, make_review, client):
    review = make_review(org.alice, org.east)
    client.force_login(org.admin)

    response = _admin_post(client, review, period="2026-13")

    assert response.status_code == 200
    assert "Use a month (2026-11)" in response.content.decode()
    review.refresh_from_db()
    assert review.period == "2026-10"


def test_a_shared_or_closed_review_is_read_only_in_the_admin(org, make_review, client):
    closed = make_review(org.alice, org.east, status=ReviewStatus.CLOSED, rating=3, strengths="As shared")
    client.force_login(org.admin)

    page = client.get(f"/admin/reviews/review/{closed.pk}/change/").content.decode()
    _admin_post(client, closed, rating="1", strengths="Rewritten later", period="2026-13")

    assert 'name="strengths"' not in page  # shown, not editable
    assert 'name="rating"' not in page
    closed.refresh_from_db()
    assert (closed.rating, closed.strengths, closed.period) == (3, "As shared", "2026-10")
