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
