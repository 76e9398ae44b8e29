from __future__ import annotations

from datetime import date

from reviews.demo import demo_review_counts, seed_demo_reviews
from reviews.models import Review, ReviewCycle
from tests.factories import TeamFactory, manager, rep


def test_demo_reviews_cover_every_status_with_overdue_items_and_are_idempotent(db):
    east, west = TeamFactory(name="East"), TeamFactory(name="West")
    manager(east, username="manager")
    manager(west, username="mgr_west")
    for name in ("alice", "bob", "carol"):
        rep(east, username=name)
    rep(west, username="dave")

    created = seed_demo_reviews(anchor=date(2026, 11, 27))
    again = seed_demo_reviews(anchor=date(2026, 11, 27))

    assert created == 12  # 4 reps x 3 months
    assert again == 0
    assert set(ReviewCycle.objects.values_list("team__name", "kind")) == {("East", "month"), ("West", "month")}
    assert sorted(set(Review.objects.values_list("period", flat=True))) == ["2026-08", "2026-09", "2026-10"]
    counts = demo_review_counts()
    assert all(counts[s] > 0 for s in ("draft", "shared", "acknowledged", "closed")), counts
    assert counts["overdue"] > 0
    assert Review.objects.filter(rating__isnull=False, strengths__gt="").count() >= 9
    assert Review.objects.filter(period="2026-08", status="closed").count() == 4
