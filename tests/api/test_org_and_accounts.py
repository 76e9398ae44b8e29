"""Provisioning teams and users, and writing accounts and contacts, over the API."""

from __future__ import annotations

from salesladder.org.models import Membership, Team, User
from tests.api.conftest import World, session_client


def test_admin_creates_and_reparents_teams(world: World):
    client = session_client(world.org.admin)
    created = client.post("/api/v1/teams/", {"name": "South", "parent": None})
    assert created.status_code == 201
    south = created.json()["id"]

    moved = client.patch(f"/api/v1/teams/{south}/", {"parent": world.org.east.pk})
    renamed = client.patch(f"/api/v1/teams/{south}/", {"name": "South East"})
    cycle = client.patch(f"/api/v1/teams/{world.org.east.pk}/", {"parent": south})
    duplicate = client.post("/api/v1/teams/", {"name": "east"})

    assert moved.json()["parent"] == world.org.east.pk
    assert renamed.json()["name"] == "South East"
    assert cycle.status_code == 400
    assert "parent" in cycle.json()["errors"]
    assert duplicate.status_code == 400
    assert "name" in duplicate.json()["errors"]
    assert Team.objects.get(pk=world.org.east.pk).parent is None


def test_admin_creates_users_with_team_and_role(world: World):
    client = session_client(world.org.admin)

    manager = client.post(
        "/api/v1/users/",
        {
            "username": "hr_mgr",
            "email": "hr@example.com",
            "password": "Quartz-Lantern-9182",
            "team": world.org.west.pk,
            "role": "manager",
        },
    )
    weak = client.post("/api/v1/users/", {"username": "weak", "password": "123"})
    taken = client.post("/api/v1/users/", {"username": "ALICE"})
    role_without_team = client.post("/api/v1/users/", {"username": "lost", "role": "rep"})

    assert manager.status_code == 201
    user = User.objects.get(pk=manager.json()["id"])
    assert user.check_password("Quartz-Lantern-9182")
    assert Membership.objects.get(user=user).role == "manager"
    assert "password" not in manager.json()
    assert weak.status_code == 400
    assert "password" in weak.json()["errors"]
    assert taken.status_code == 400
    assert "username" in taken.json()["errors"]
    assert role_without_team.status_code == 400
    assert "team" in role_without_team.json()["errors"]


def test_accounts_and_contacts(world: World):
    client = session_client(world.org.alice)

    account = client.post("/api/v1/accounts/", {"name": " Acme Ltd ", "domain": "Acme.COM"}).json()
    contact = client.post(
        "/api/v1/contacts/", {"account": account["id"], "name": "Wile E.", "email": "wile@acme.com", "phone": "123"}
    )
    foreign = client.post("/api/v1/contacts/", {"account": world.by_rep["dave"].account.pk, "name": "X"})
    renamed = client.patch(f"/api/v1/accounts/{account['id']}/", {"name": "Acme Corporation"})
    edited = client.patch(f"/api/v1/contacts/{contact.json()['id']}/", {"phone": "456"})
    blank = client.patch(f"/api/v1/contacts/{contact.json()['id']}/", {"name": " "})

    assert (account["name"], account["domain"], account["owner"]) == ("Acme Ltd", "acme.com", world.org.alice.pk)
    assert contact.status_code == 201
    assert foreign.status_code == 400
    assert "account" in foreign.json()["errors"]
    assert renamed.json()["name"] == "Acme Corporation"
    assert edited.json()["phone"] == "456"
    assert blank.status_code == 400
    assert "name" in blank.json()["errors"]
    # bob cannot see alice's new account
    assert session_client(world.org.bob).get(f"/api/v1/accounts/{account['id']}/").status_code == 404


def test_contact_filter_by_account_and_search(world: World):
    client = session_client(world.org.manager)
    alice_account = world.by_rep["alice"].account

    by_account = client.get("/api/v1/contacts/", {"account": alice_account.pk}).json()["results"]
    searched = client.get("/api/v1/accounts/", {"search": "bob"}).json()["results"]

    assert [c["name"] for c in by_account] == ["Alice Contact"]
    assert [a["name"] for a in searched] == ["Bob Industries"]


def test_admin_updates_a_user_as_an_hr_system_would(world: World):
    from salesladder.org.services import api_token_create
    from tests.api.conftest import token_client

    org = world.org
    _token, key = api_token_create(user=org.dave, name="dave's", scopes=[])
    client = session_client(org.admin)

    # dave moves from West to East as a manager, with a new e-mail
    moved = client.patch(f"/api/v1/users/{org.dave.pk}/", {"team": org.east.pk, "role": "manager", "email": "d@x.cn"})
    assert moved.status_code == 200
    assert moved.json()["email"] == "d@x.cn"
    assert [(m["team"], m["role"]) for m in moved.json()["memberships"]] == [(org.east.pk, "manager")]

    # bad input: an e-mail taken by someone else (any case), a weak password, a role without a team,
    # a field that is not editable — all 400 on the field, nothing changed
    taken = client.patch(f"/api/v1/users/{org.dave.pk}/", {"email": "ALICE@example.com"})
    weak = client.patch(f"/api/v1/users/{org.dave.pk}/", {"password": "123"})
    lone_role = client.patch(f"/api/v1/users/{org.dave.pk}/", {"role": "rep"})
    username = client.patch(f"/api/v1/users/{org.dave.pk}/", {"username": "david"})
    assert [r.status_code for r in (taken, weak, lone_role, username)] == [400] * 4
    assert "email" in taken.json()["errors"]
    assert "password" in weak.json()["errors"]
    assert "team" in lone_role.json()["errors"]
    assert "username" in username.json()["errors"]

    # he leaves: cannot log in, his key stops working
    left = client.patch(f"/api/v1/users/{org.dave.pk}/", {"is_active": False})
    assert left.json()["is_active"] is False
    assert token_client(key).get("/api/v1/me/").status_code == 401
    org.dave.refresh_from_db()
    assert org.dave.email == "d@x.cn"


def test_only_admins_update_users(world: World):
    org = world.org
    # refused before any look-up, so the answer is the same for any id (nothing leaks)
    assert session_client(org.manager).patch(f"/api/v1/users/{org.alice.pk}/", {"first_name": "A"}).status_code == 403
    assert session_client(org.alice).patch(f"/api/v1/users/{org.dave.pk}/", {"first_name": "A"}).status_code == 403
    assert session_client(org.alice).patch("/api/v1/users/999999/", {"first_name": "A"}).status_code == 403
    assert User.objects.get(pk=org.alice.pk).first_name != "A"
