"""The permission matrix: every endpoint × every kind of caller.

Lists show exactly the caller's scope; objects outside it answer 404 (never 403); anonymous and revoked
keys get 401; a token's scopes decide what it may do.
"""

from __future__ import annotations

import pytest

from tests.api.conftest import ACTORS, VISIBLE_REPS, World

UNAUTHENTICATED = {"anonymous", "token_revoked"}
# Reads of pipeline data: everyone visible, except tokens without a deals scope.
CANNOT_READ = {"token_leads_write"}
CANNOT_WRITE = {"token_leads_write", "token_deals_read"}

RESOURCES = {
    "deals": "deal",
    "accounts": "account",
    "contacts": "contact",
    "activities": "activity",
}


def _ids(response) -> set[int]:
    return {row["id"] for row in response.json()["results"]}


@pytest.mark.parametrize("actor", ACTORS)
@pytest.mark.parametrize("resource", list(RESOURCES))
def test_lists_show_exactly_the_callers_scope(world: World, client_for, actor: str, resource: str):
    response = client_for(actor).get(f"/api/v1/{resource}/")

    if actor in UNAUTHENTICATED:
        assert response.status_code == 401
        assert response["WWW-Authenticate"] == "Bearer"
    elif actor in CANNOT_READ:
        assert response.status_code == 403
    else:
        assert response.status_code == 200
        assert _ids(response) == world.ids(RESOURCES[resource], VISIBLE_REPS[actor])


@pytest.mark.parametrize("actor", ACTORS)
@pytest.mark.parametrize("resource", list(RESOURCES))
def test_details_outside_scope_are_404(world: World, client_for, actor: str, resource: str):
    client = client_for(actor)
    for rep in ["alice", "bob", "nina", "dave"]:
        obj = getattr(world.by_rep[rep], RESOURCES[resource])
        response = client.get(f"/api/v1/{resource}/{obj.pk}/")
        if actor in UNAUTHENTICATED:
            assert response.status_code == 401
        elif actor in CANNOT_READ:
            assert response.status_code == 403
        elif rep in VISIBLE_REPS[actor]:
            assert response.status_code == 200
            assert response.json()["id"] == obj.pk
        else:
            assert response.status_code == 404, (actor, rep)
            assert response.json()["errors"]


@pytest.mark.parametrize("actor", ACTORS)
def test_deal_transitions_follow_deal_scope(world: World, client_for, actor: str):
    client = client_for(actor)
    for rep in ["alice", "dave"]:
        response = client.get(f"/api/v1/deals/{world.by_rep[rep].deal.pk}/transitions/")
        if actor in UNAUTHENTICATED:
            assert response.status_code == 401
        elif actor in CANNOT_READ:
            assert response.status_code == 403
        elif rep in VISIBLE_REPS[actor]:
            assert [t["to_stage"] for t in response.json()] == ["prep", "contact", "needs"]
        else:
            assert response.status_code == 404


@pytest.mark.parametrize("actor", ACTORS)
def test_writing_to_alices_deal(world: World, client_for, actor: str):
    deal = world.by_rep["alice"].deal
    client = client_for(actor)

    patch = client.patch(f"/api/v1/deals/{deal.pk}/", {"notes": f"by {actor}"}, format="json")
    move = client.post(f"/api/v1/deals/{deal.pk}/move/", {"to_stage": "contact"}, format="json")
    activity = client.post("/api/v1/activities/", {"deal": deal.pk, "kind": "note", "subject": "Hello"}, format="json")

    deal.refresh_from_db()
    if actor in UNAUTHENTICATED:
        assert {patch.status_code, move.status_code, activity.status_code} == {401}
    elif actor in CANNOT_WRITE:
        assert {patch.status_code, move.status_code, activity.status_code} == {403}
    elif "alice" in VISIBLE_REPS[actor]:
        assert patch.status_code == 200
        assert move.status_code == 200
        assert activity.status_code == 201
        assert deal.notes == f"by {actor}"
        assert deal.stage == "contact"
    else:
        assert patch.status_code == 404
        assert move.status_code == 404
        # The deal id is validated against the caller's scope: a field error, the same as an unknown id.
        assert activity.status_code == 400
        assert "deal" in activity.json()["errors"]
    if actor not in VISIBLE_REPS or not VISIBLE_REPS[actor] or "alice" not in (VISIBLE_REPS[actor] or []):
        assert deal.stage == "needs"
        assert deal.notes == ""


TEAMS_VISIBLE = {
    "alice": {"East"},
    "bob": {"East"},
    "manager": {"East", "East North"},
    "mgr_west": {"West"},
    "admin": {"East", "East North", "West"},
    "token_full": {"East"},
    "token_deals_read": {"East"},
    "token_deals_write": {"East"},
}
USERS_VISIBLE = {
    "alice": {"alice"},
    "bob": {"bob"},
    "manager": {"manager", "alice", "bob", "north_manager", "nina"},
    "mgr_west": {"mgr_west", "dave"},
    "admin": {"manager", "alice", "bob", "north_manager", "nina", "mgr_west", "dave", "admin"},
    "token_full": {"alice"},
    "token_deals_read": {"alice"},
    "token_deals_write": {"alice"},
}


@pytest.mark.parametrize("actor", ACTORS)
def test_teams_and_users_lists(world: World, client_for, actor: str):
    client = client_for(actor)
    teams = client.get("/api/v1/teams/")
    users = client.get("/api/v1/users/")
    if actor in UNAUTHENTICATED:
        assert teams.status_code == users.status_code == 401
    elif actor in CANNOT_READ:
        assert teams.status_code == users.status_code == 403
    else:
        assert {t["name"] for t in teams.json()["results"]} == TEAMS_VISIBLE[actor]
        assert {u["username"] for u in users.json()["results"]} == USERS_VISIBLE[actor]


@pytest.mark.parametrize("actor", ACTORS)
def test_team_and_user_details_outside_scope_are_404(world: World, client_for, actor: str):
    org = world.org
    client = client_for(actor)
    west = client.get(f"/api/v1/teams/{org.west.pk}/")
    dave = client.get(f"/api/v1/users/{org.dave.pk}/")
    if actor in UNAUTHENTICATED:
        assert west.status_code == dave.status_code == 401
    elif actor in CANNOT_READ:
        assert west.status_code == dave.status_code == 403
    elif actor in ("mgr_west", "admin"):
        assert west.status_code == dave.status_code == 200
    else:
        assert west.status_code == dave.status_code == 404


@pytest.mark.parametrize("actor", ACTORS)
def test_only_admins_provision_teams_and_users(world: World, client_for, actor: str):
    client = client_for(actor)
    team = client.post("/api/v1/teams/", {"name": f"New {actor}", "parent": world.org.east.pk}, format="json")
    user = client.post(
        "/api/v1/users/",
        {
            "username": f"new_{actor}",
            "email": f"new_{actor}@example.com",
            "password": "Quartz-Lantern-9182",
            "team": world.org.east.pk,
            "role": "rep",
        },
        format="json",
    )
    if actor in UNAUTHENTICATED:
        assert team.status_code == user.status_code == 401
    elif actor == "admin":
        assert team.status_code == user.status_code == 201
        assert team.json()["parent"] == world.org.east.pk
        assert user.json()["memberships"] == [{"team": world.org.east.pk, "team_name": "East", "role": "rep"}]
    else:
        assert team.status_code == user.status_code == 403


@pytest.mark.parametrize("actor", ACTORS)
def test_me(world: World, client_for, actor: str):
    response = client_for(actor).get("/api/v1/me/")
    if actor in UNAUTHENTICATED:
        assert response.status_code == 401
        return
    assert response.status_code == 200
    body = response.json()
    expected_user = "alice" if actor.startswith("token_") else actor
    assert body["username"] == expected_user
    if actor.startswith("token_"):
        assert body["token"]["name"] == actor
    else:
        assert body["token"] is None
    if actor == "manager":
        assert set(body["managed_teams"]) == {world.org.east.pk, world.org.east_north.pk}


@pytest.mark.parametrize("actor", ACTORS)
def test_transition_actions_on_daves_deal(world: World, client_for, actor: str):
    deal = world.by_rep["dave"].deal
    activity = world.by_rep["dave"].activity
    client = client_for(actor)

    lose = client.post(f"/api/v1/deals/{deal.pk}/lose/", {"reason": "price"}, format="json")
    reopen = client.post(f"/api/v1/deals/{deal.pk}/reopen/")
    complete = client.post(f"/api/v1/activities/{activity.pk}/complete/")

    codes = (lose.status_code, reopen.status_code, complete.status_code)
    if actor in UNAUTHENTICATED:
        assert codes == (401, 401, 401)
    elif actor in CANNOT_WRITE:
        assert codes == (403, 403, 403)
    elif "dave" in VISIBLE_REPS[actor]:
        assert codes == (200, 200, 200)
    else:
        assert codes == (404, 404, 404)
    deal.refresh_from_db()
    assert deal.status == "open"
