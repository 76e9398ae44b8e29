"""The reviews API: shapes, transitions, field errors, action items, history, completion, query counts."""

from __future__ import annotations

import pytest

from reviews.models import ActionItem, Review, ReviewStatus
from salesladder.org.models import ApiScope
from salesladder.org.services import api_token_create
from tests.factories import rep

SPEC_FIELDS = {
    "id",
    "user",
    "period",
    "status",
    "scorecard",
    "rating",
    "strengths",
    "improvements",
    "manager_comment",
    "rep_comment",
    "action_items",
}


@pytest.fixture
def draft(org, make_review):  # type: ignore[no-untyped-def]
    review = make_review(org.alice, org.east, scorecard={"schema_version": 1, "period": "2026-10", "stages": []})
    ActionItem.objects.create(review=review, text="Prepare QBR deck")
    return review


def test_list_shape_has_the_spec_fields(org, draft, api):
    response = api(org.manager).get("/api/v1/reviews/")

    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 1
    item = body["results"][0]
    assert SPEC_FIELDS <= set(item)
    assert item["user"] == org.alice.pk
    assert item["period"] == "2026-10"
    assert item["status"] == "draft"
    assert item["team"] == org.east.pk
    assert item["scorecard"]["schema_version"] == 1
    assert [a["text"] for a in item["action_items"]] == ["Prepare QBR deck"]
    assert item["action_items"][0]["done"] is False


def test_the_whole_workflow_over_the_api(org, draft, api):
    manager, alice = api(org.manager), api(org.alice)
    url = f"/api/v1/reviews/{draft.pk}/"

    r = manager.patch(url, {"rating": 4, "strengths": "Great pipeline hygiene"})
    assert (r.status_code, r.json()["rating"]) == (200, 4)
    assert alice.get(url).status_code == 404  # still a draft

    r = manager.post(url + "share/")
    assert (r.status_code, r.json()["status"]) == (200, "shared")

    r = alice.get(url)
    assert (r.status_code, r.json()["strengths"]) == (200, "Great pipeline hygiene")
    r = alice.patch(url, {"rep_comment": "Thanks, agreed"})
    assert (r.status_code, r.json()["rep_comment"]) == (200, "Thanks, agreed")

    r = alice.post(url + "acknowledge/", {"rating": 5})  # a stray field is refused, not ignored
    assert (r.status_code, list(r.json()["errors"])) == (400, ["rating"])
    r = alice.post(url + "acknowledge/", {})
    assert (r.status_code, r.json()["status"], r.json()["rating"]) == (200, "acknowledged", 4)

    r = manager.post(url + "close/")
    assert (r.status_code, r.json()["status"]) == (200, "closed")
    assert Review.objects.get(pk=draft.pk).closed_at is not None


def test_rep_cannot_change_the_rating_field_error(org, make_review, api):
    shared = make_review(org.alice, org.east, status=ReviewStatus.SHARED, rating=2, manager_comment="Keep going")

    r = api(org.alice).patch(f"/api/v1/reviews/{shared.pk}/", {"rating": 5})
    r2 = api(org.alice).patch(f"/api/v1/reviews/{shared.pk}/", {"manager_comment": "I am the best"})

    assert r.status_code == 400
    assert list(r.json()["errors"]) == ["rating"]
    assert r2.status_code == 400
    assert list(r2.json()["errors"]) == ["manager_comment"]
    shared.refresh_from_db()
    assert (shared.rating, shared.manager_comment) == (2, "Keep going")


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"rating": 7}, "rating"),
        ({"rating": "x"}, "rating"),
        ({"status": "closed"}, "status"),
        ({"scorecard": {}}, "scorecard"),
        ({}, "non_field_errors"),
    ],
)
def test_patch_bad_input_is_a_field_error(org, draft, api, payload, field):
    r = api(org.manager).patch(f"/api/v1/reviews/{draft.pk}/", payload, format="json")

    assert r.status_code == 400
    assert field in r.json()["errors"]
    assert Review.objects.get(pk=draft.pk).status == ReviewStatus.DRAFT


def test_wrong_steps_answer_400_on_status_and_403_for_the_wrong_role(org, make_review, api):
    shared = make_review(org.alice, org.east, status=ReviewStatus.SHARED, rating=3)
    unrated = make_review(org.bob, org.east)

    again = api(org.manager).post(f"/api/v1/reviews/{shared.pk}/share/")
    early_close = api(org.manager).post(f"/api/v1/reviews/{shared.pk}/close/")
    by_manager = api(org.manager).post(f"/api/v1/reviews/{shared.pk}/acknowledge/")
    by_rep = api(org.alice).post(f"/api/v1/reviews/{shared.pk}/close/")
    no_rating = api(org.manager).post(f"/api/v1/reviews/{unrated.pk}/share/")

    assert (again.status_code, list(again.json()["errors"])) == (400, ["status"])
    assert (early_close.status_code, list(early_close.json()["errors"])) == (400, ["status"])
    assert by_manager.status_code == 403
    assert by_rep.status_code == 403
    assert (no_rating.status_code, list(no_rating.json()["errors"])) == (400, ["rating"])
    assert Review.objects.get(pk=shared.pk).status == ReviewStatus.SHARED


def test_action_items_create_update_complete(org, make_review, api):
    review = make_review(org.alice, org.east, status=ReviewStatus.SHARED, rating=3)
    manager, alice = api(org.manager), api(org.alice)

    r = manager.post(f"/api/v1/reviews/{review.pk}/action-items/", {"text": "Run 3 demos", "due_date": "2026-12-01"})
    assert r.status_code == 201
    item_id = r.json()["id"]
    assert r.json()["due_date"] == "2026-12-01"

    bad = manager.post(f"/api/v1/reviews/{review.pk}/action-items/", {"due_date": "soon"})
    assert bad.status_code == 400
    assert set(bad.json()["errors"]) == {"text", "due_date"}
    assert alice.post(f"/api/v1/reviews/{review.pk}/action-items/", {"text": "x"}).status_code == 403

    r = alice.patch(f"/api/v1/action-items/{item_id}/", {"text": "Run 1 demo"})
    assert (r.status_code, list(r.json()["errors"])) == (400, ["text"])
    r = manager.patch(f"/api/v1/action-items/{item_id}/", {"due_date": "2026-12-15"})
    assert (r.status_code, r.json()["due_date"]) == (200, "2026-12-15")

    r = alice.post(f"/api/v1/action-items/{item_id}/complete/")
    assert (r.status_code, r.json()["done"]) == (200, True)
    assert api(org.mgr_west).post(f"/api/v1/action-items/{item_id}/complete/").status_code == 404
    listed = alice.get("/api/v1/action-items/", {"review": review.pk}).json()
    assert [i["id"] for i in listed["results"]] == [item_id]


def test_history_endpoint_says_who_changed_what(org, draft, api):
    api(org.manager).patch(f"/api/v1/reviews/{draft.pk}/", {"rating": 3, "improvements": "Follow up faster"})

    r = api(org.manager).get(f"/api/v1/reviews/{draft.pk}/history/")

    assert r.status_code == 200
    changed = [e for e in r.json() if e["object"] == "review" and e["action"] == "changed"]
    assert changed[-1]["by"] == org.manager.pk
    fields = {c["field"]: (c["old"], c["new"]) for c in changed[-1]["changes"]}
    assert fields["rating"] == (None, 3)
    assert fields["improvements"] == ("", "Follow up faster")


def test_filters_period_user_status_team(org, make_review, api):
    make_review(org.alice, org.east, period="2026-09", status=ReviewStatus.CLOSED, rating=3)
    make_review(org.alice, org.east, period="2026-10")
    make_review(org.bob, org.east, period="2026-10", status=ReviewStatus.SHARED, rating=3)
    make_review(org.nina, org.east_north, period="2026-10")
    client = api(org.manager)

    def ids(**params):  # type: ignore[no-untyped-def]
        r = client.get("/api/v1/reviews/", params)
        assert r.status_code == 200
        return {(x["user"], x["period"]) for x in r.json()["results"]}

    assert ids(period="2026-10") == {(org.alice.pk, "2026-10"), (org.bob.pk, "2026-10"), (org.nina.pk, "2026-10")}
    assert ids(user=org.alice.pk) == {(org.alice.pk, "2026-09"), (org.alice.pk, "2026-10")}
    assert ids(status="shared") == {(org.bob.pk, "2026-10")}
    assert ids(team=org.east_north.pk) == {(org.nina.pk, "2026-10")}
    bad = client.get("/api/v1/reviews/", {"period": "October"})
    assert (bad.status_code, list(bad.json()["errors"])) == (400, ["period"])


def test_completion_summary_per_team(org, make_review, api):
    make_review(org.alice, org.east, status=ReviewStatus.SHARED, rating=3)
    make_review(org.bob, org.east, status=ReviewStatus.ACKNOWLEDGED, rating=3)
    make_review(org.nina, org.east_north)
    make_review(org.dave, org.west, status=ReviewStatus.CLOSED, rating=3)

    r = api(org.manager).get("/api/v1/reviews/completion/", {"period": "2026-10"})
    r_team = api(org.admin).get("/api/v1/reviews/completion/", {"period": "2026-10", "team": org.west.pk})

    assert r.status_code == 200
    assert r.json() == {
        "period": "2026-10",
        "teams": [
            {
                "team": org.east.pk,
                "team_name": "East",
                "total": 2,
                "draft": 0,
                "shared": 1,
                "acknowledged": 1,
                "closed": 0,
            },
            {
                "team": org.east_north.pk,
                "team_name": "East North",
                "total": 1,
                "draft": 1,
                "shared": 0,
                "acknowledged": 0,
                "closed": 0,
            },
        ],
    }
    assert [(t["team_name"], t["closed"]) for t in r_team.json()["teams"]] == [("West", 1)]
    assert api(org.alice).get("/api/v1/reviews/completion/", {"period": "2026-10"}).status_code == 403
    missing = api(org.manager).get("/api/v1/reviews/completion/")
    assert (missing.status_code, list(missing.json()["errors"])) == (400, ["period"])
    foreign = api(org.manager).get("/api/v1/reviews/completion/", {"period": "2026-10", "team": org.west.pk})
    assert (foreign.status_code, list(foreign.json()["errors"])) == (400, ["team"])


def test_completion_is_one_aggregate_query(org, make_review, django_assert_num_queries):
    from reviews.selectors import reviews_completion

    for i in range(5):
        make_review(rep(org.east, username=f"r{i}"), org.east, status=ReviewStatus.SHARED, rating=3)

    with django_assert_num_queries(1):
        rows = reviews_completion(period="2026-10")

    assert [(r.team_name, r.total, r.shared) for r in rows] == [("East", 5, 5)]


@pytest.mark.parametrize("n", [1, 30])
def test_list_query_count_is_constant(org, make_review, api, django_assert_max_num_queries, n):
    for i in range(n):
        review = make_review(rep(org.east, username=f"rep{i}"), org.east)
        ActionItem.objects.create(review=review, text="One")
        ActionItem.objects.create(review=review, text="Two")
    client = api(org.manager)
    client.get("/api/v1/me/")  # warm the session

    with django_assert_max_num_queries(9):
        r = client.get("/api/v1/reviews/", {"page_size": 50})

    assert r.json()["count"] == n
    assert all(len(x["action_items"]) == 2 for x in r.json()["results"])


def test_a_read_token_reads_but_cannot_write(org, make_review, api):
    review = make_review(org.alice, org.east, status=ReviewStatus.SHARED, rating=3)
    _token, key = api_token_create(user=org.manager, name="BI", scopes=[ApiScope.DEALS_READ])
    client = api(None)
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")

    assert client.get(f"/api/v1/reviews/{review.pk}/").status_code == 200
    assert client.patch(f"/api/v1/reviews/{review.pk}/", {"rating": 1}).status_code == 403
    assert Review.objects.get(pk=review.pk).rating == 3


def test_history_is_attributed_to_the_api_user(org, draft, api):
    api(org.manager).patch(f"/api/v1/reviews/{draft.pk}/", {"rating": 5})

    assert Review.history.filter(id=draft.pk).latest("history_date").history_user == org.manager


@pytest.mark.parametrize("bad_id", ["abc", "99999999999999999999999", "-1", "%C2%84"])
def test_malformed_ids_answer_json_404(org, api, bad_id):
    for url in (f"/api/v1/reviews/{bad_id}/", f"/api/v1/action-items/{bad_id}/", f"/api/v1/reviews/{bad_id}/history/"):
        r = api(org.manager).get(url)
        assert r.status_code == 404
        assert r["Content-Type"] == "application/json"


@pytest.mark.parametrize("period", ["0000-01", "9999-12", "2026-13", "2026-W99", "abc"])
def test_out_of_range_periods_are_a_400_on_period(org, api, period):
    client = api(org.manager)

    for url in ("/api/v1/reviews/", "/api/v1/reviews/completion/"):
        r = client.get(url, {"period": period})
        assert (r.status_code, list(r.json()["errors"])) == (400, ["period"]), url


def test_the_rep_sees_the_history_from_sharing_on(org, draft, api):
    manager = api(org.manager)
    manager.patch(f"/api/v1/reviews/{draft.pk}/", {"rating": 2})
    manager.patch(f"/api/v1/reviews/{draft.pk}/", {"rating": 4})
    manager.post(f"/api/v1/reviews/{draft.pk}/share/")
    api(org.alice).patch(f"/api/v1/reviews/{draft.pk}/", {"rep_comment": "Noted"})

    rep_view = api(org.alice).get(f"/api/v1/reviews/{draft.pk}/history/").json()
    manager_view = manager.get(f"/api/v1/reviews/{draft.pk}/history/").json()

    rep_fields = {c["field"] for e in rep_view for c in e["changes"]}
    assert "rating" not in rep_fields  # the drafting (2, then 4) stays with the manager
    assert {"status", "rep_comment"} <= rep_fields
    assert [c["new"] for e in manager_view for c in e["changes"] if c["field"] == "rating"] == [2, 4]


def test_id_filters_do_not_tell_unknown_from_out_of_scope(org, make_review, api):
    west_review = make_review(org.dave, org.west)
    make_review(org.alice, org.east)
    client = api(org.manager)

    for params in ({"user": org.dave.pk}, {"user": 987654}, {"team": org.west.pk}, {"team": 987654}):
        r = client.get("/api/v1/reviews/", params)
        assert (r.status_code, r.json()["count"]) == (200, 0), params
    r = client.get("/api/v1/action-items/", {"review": west_review.pk})
    assert (r.status_code, r.json()["count"]) == (200, 0)
    for bad in ("1.5", "1e400", "-3", "abc", "99999999999999999999"):
        r = client.get("/api/v1/reviews/", {"user": bad})
        assert (r.status_code, list(r.json()["errors"])) == (400, ["user"]), bad
