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
