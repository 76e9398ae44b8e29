"""Who sees which review: reps their own once shared, managers their teams' (sub-teams too), admins all."""

from __future__ import annotations

import pytest

from reviews.models import ReviewStatus
from reviews.selectors import reviews_visible_to


@pytest.fixture
def reviews(org, make_review):  # type: ignore[no-untyped-def]
    return {
        "alice_draft": make_review(org.alice, org.east, period="2026-10"),
        "alice_shared": make_review(org.alice, org.east, period="2026-09", status=ReviewStatus.SHARED, rating=3),
        "bob_shared": make_review(org.bob, org.east, period="2026-09", status=ReviewStatus.SHARED, rating=4),
        "nina_draft": make_review(org.nina, org.east_north, period="2026-10"),
        "dave_closed": make_review(org.dave, org.west, period="2026-09", status=ReviewStatus.CLOSED, rating=5),
    }


@pytest.mark.parametrize(
    ("who", "visible"),
    [
        ("alice", {"alice_shared"}),  # own, shared only: her draft is invisible
        ("bob", {"bob_shared"}),
        ("nina", set()),
        ("dave", {"dave_closed"}),
        ("manager", {"alice_draft", "alice_shared", "bob_shared", "nina_draft"}),  # East + East North
        ("north_manager", {"nina_draft"}),
        ("mgr_west", {"dave_closed"}),
        ("admin", {"alice_draft", "alice_shared", "bob_shared", "nina_draft", "dave_closed"}),
    ],
)
def test_visibility_matrix(org, reviews, who, visible):
    names = {pk: name for name, pk in ((n, r.pk) for n, r in reviews.items())}

    seen = {names[pk] for pk in reviews_visible_to(user=getattr(org, who)).values_list("pk", flat=True)}

    assert seen == visible


@pytest.mark.parametrize(
    ("who", "review", "code"),
    [
        ("alice", "alice_draft", 404),
        ("alice", "alice_shared", 200),
        ("alice", "bob_shared", 404),
        ("manager", "alice_draft", 200),
        ("manager", "nina_draft", 200),
        ("mgr_west", "alice_shared", 404),
        ("north_manager", "alice_draft", 404),
        ("admin", "dave_closed", 200),
    ],
)
def test_detail_answers_404_outside_scope(org, reviews, api, who, review, code):
    response = api(getattr(org, who)).get(f"/api/v1/reviews/{reviews[review].pk}/")

    assert response.status_code == code
    if code == 200:
        assert response.json()["id"] == reviews[review].pk


def test_other_teams_manager_cannot_act_even_by_id(org, reviews, api):
    client = api(org.mgr_west)

    assert client.post(f"/api/v1/reviews/{reviews['alice_draft'].pk}/share/").status_code == 404
    assert client.patch(f"/api/v1/reviews/{reviews['alice_draft'].pk}/", {"rating": 1}).status_code == 404
    reviews["alice_draft"].refresh_from_db()
    assert reviews["alice_draft"].rating is None


def test_anonymous_gets_401_or_403(reviews, api):
    assert api(None).get("/api/v1/reviews/").status_code == 401  # Bearer auth: the challenge, not 403
