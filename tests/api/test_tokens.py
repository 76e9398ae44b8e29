"""Integration tokens: hashed storage, bearer authentication, last use, expiry, revocation, the command."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from salesladder.errors import DomainError
from salesladder.org.models import ApiToken
from salesladder.org.selectors import api_tokens_of
from salesladder.org.services import api_token_create, api_token_revoke
from tests.api.conftest import World, token_client


def test_key_is_returned_once_and_only_its_hash_is_stored(org):
    token, key = api_token_create(user=org.alice, name="Web form", scopes=["leads:write"])

    assert key.startswith(f"sl_{token.prefix}_")
    assert len(token.prefix) == 8
    assert token.key_hash == hashlib.sha256(key.encode()).hexdigest()
    stored = ApiToken.objects.filter(pk=token.pk).values()[0]
    assert key not in {str(v) for v in stored.values()}
    assert token.team == org.east  # defaults to the user's team, for round-robin intake
    assert token.scopes == ["leads:write"]


def test_unknown_scope_is_refused(org):
    with pytest.raises(DomainError) as exc:
        api_token_create(user=org.alice, name="x", scopes=["deals:delete"])
    assert "scopes" in exc.value.errors


def test_bearer_key_authenticates_as_its_user(world: World):
    _, key = api_token_create(user=world.org.manager, name="BI export", scopes=["deals:read"])

    response = token_client(key).get("/api/v1/deals/")

    assert response.status_code == 200
    assert response.json()["count"] == 3  # the manager's team scope


@pytest.mark.parametrize(
    "header",
    ["Bearer sl_00000000_nope", "Bearer garbage", "Bearer", "Bearer a b", "Bearer sl_short_x"],
)
def test_invalid_keys_are_401(world: World, header: str):
    from rest_framework.test import APIClient

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=header)
    response = client.get("/api/v1/deals/")
    assert response.status_code == 401
    assert response.json()["errors"]


def test_a_key_with_the_right_prefix_but_wrong_secret_is_401(world: World):
    _, key = api_token_create(user=world.org.alice, name="x")
    tampered = key[:-2] + ("AA" if not key.endswith("AA") else "BB")
    assert token_client(tampered).get("/api/v1/me/").status_code == 401


def test_revoked_and_expired_keys_are_401(world: World):
    revoked, revoked_key = api_token_create(user=world.org.alice, name="old")
    api_token_revoke(token=revoked)
    _, expired_key = api_token_create(
        user=world.org.alice, name="temp", expires_at=timezone.now() - timedelta(seconds=1)
    )

    revoked_response = token_client(revoked_key).get("/api/v1/me/")
    expired_response = token_client(expired_key).get("/api/v1/me/")

    assert revoked_response.status_code == 401
    assert "revoked" in revoked_response.json()["detail"]
    assert expired_response.status_code == 401
    assert "expired" in expired_response.json()["detail"]


def test_inactive_users_keys_stop_working(world: World):
    _, key = api_token_create(user=world.org.alice, name="x")
    world.org.alice.is_active = False
    world.org.alice.save()
    assert token_client(key).get("/api/v1/me/").status_code == 401


def test_last_use_is_recorded_at_most_once_a_minute(world: World, django_assert_num_queries):
    token, key = api_token_create(user=world.org.alice, name="x")
    client = token_client(key)

    client.get("/api/v1/me/")
    token.refresh_from_db()
    first = token.last_used_at
    assert first is not None

    client.get("/api/v1/me/")
    token.refresh_from_db()
    assert token.last_used_at == first  # no write for a second use inside the minute

    ApiToken.objects.filter(pk=token.pk).update(last_used_at=first - timedelta(minutes=2))
    client.get("/api/v1/me/")
    token.refresh_from_db()
    assert token.last_used_at > first


def test_token_scope_decides_reads_and_writes(world: World):
    deal = world.by_rep["alice"].deal
    _, read_key = api_token_create(user=world.org.alice, name="r", scopes=["deals:read"])
    _, write_key = api_token_create(user=world.org.alice, name="w", scopes=["deals:write"])
    _, leads_key = api_token_create(user=world.org.alice, name="l", scopes=["leads:write"])

    assert token_client(read_key).get(f"/api/v1/deals/{deal.pk}/").status_code == 200
    assert token_client(read_key).patch(f"/api/v1/deals/{deal.pk}/", {"notes": "x"}).status_code == 403
    assert token_client(write_key).patch(f"/api/v1/deals/{deal.pk}/", {"notes": "x"}).status_code == 200
    assert token_client(leads_key).get(f"/api/v1/deals/{deal.pk}/").status_code == 403
    assert token_client(leads_key).get("/api/v1/me/").status_code == 200


def test_scoped_tokens_of_an_admin_cannot_provision(world: World):
    _, write_key = api_token_create(user=world.org.admin, name="w", scopes=["deals:write"])
    _, full_key = api_token_create(user=world.org.admin, name="hr-sync")

    refused = token_client(write_key).post("/api/v1/teams/", {"name": "Scoped"}, format="json")
    allowed = token_client(full_key).post("/api/v1/teams/", {"name": "Synced"}, format="json")

    assert refused.status_code == 403
    assert allowed.status_code == 201


def test_profile_selectors_and_revoke_rules(world: World):
    mine, _ = api_token_create(user=world.org.alice, name="mine")
    api_token_create(user=world.org.bob, name="bobs")

    assert list(api_tokens_of(user=world.org.alice)) == [mine]
    with pytest.raises(DomainError):
        api_token_revoke(token=mine, actor=world.org.bob)
    api_token_revoke(token=mine, actor=world.org.alice)
    first = mine.revoked_at
    api_token_revoke(token=mine, actor=world.org.admin)
    assert mine.revoked_at == first
    assert list(api_tokens_of(user=world.org.alice, include_revoked=False)) == []


def test_create_api_token_command_prints_a_working_key(world: World):
    out, err = StringIO(), StringIO()

    call_command(
        "create_api_token",
        "alice",
        "--scope",
        "deals:read",
        "--scope",
        "leads:write",
        "--name",
        "Expo",
        stdout=out,
        stderr=err,
    )

    key = out.getvalue().strip()
    token = ApiToken.objects.get(name="Expo")
    assert token.scopes == ["deals:read", "leads:write"]
    assert token.key_hash == hashlib.sha256(key.encode()).hexdigest()
    assert "not shown again" in err.getvalue()
    assert token_client(key).get("/api/v1/deals/").json()["count"] == 1


def test_create_api_token_command_errors(world: World):
    with pytest.raises(CommandError):
        call_command("create_api_token", "nobody", stdout=StringIO(), stderr=StringIO())
    with pytest.raises(CommandError):
        call_command("create_api_token", "alice", "--scope", "deals:delete", stdout=StringIO(), stderr=StringIO())


def test_admin_lists_tokens_without_keys_and_revokes(world: World, client):
    token, key = api_token_create(user=world.org.alice, name="Expo scanner")
    client.force_login(world.org.admin)

    listing = client.get("/admin/org/apitoken/")
    revoke = client.post("/admin/org/apitoken/", {"action": "revoke", "_selected_action": [token.pk]}, follow=True)

    assert listing.status_code == 200
    assert "Expo scanner" in listing.content.decode()
    assert key not in listing.content.decode()
    assert token.key_hash not in listing.content.decode()
    assert revoke.status_code == 200
    token.refresh_from_db()
    assert token.revoked_at is not None


def test_a_token_request_has_the_same_scope_as_the_selectors_compute(world: World):
    """Bearer authentication reads the managed teams (sub-teams included) in its one query; they must be
    exactly what org.selectors.managed_team_ids says, for every kind of user."""
    from salesladder.org.authentication import BearerTokenAuthentication
    from salesladder.org.models import Membership, Role, User
    from salesladder.org.selectors import managed_team_ids
    from tests.factories import TeamFactory

    org = world.org
    deep = TeamFactory(name="East North Deep", parent=org.east_north)
    Membership.objects.create(user=org.mgr_west, team=deep, role=Role.MANAGER)  # two separate trees
    for user in (org.manager, org.north_manager, org.mgr_west, org.alice, org.admin):
        _, key = api_token_create(user=user, name="scope")
        authenticated, token = BearerTokenAuthentication().authenticate_key(key)

        stored = ApiToken.objects.select_related("team").get(pk=token.pk)
        assert authenticated == user
        assert token.user_id == user.pk
        assert (token.team, token.scopes, token.created_at) == (stored.team, stored.scopes, stored.created_at)
        assert managed_team_ids(user=authenticated) == managed_team_ids(user=User.objects.get(pk=user.pk))
    assert managed_team_ids(user=BearerTokenAuthentication().authenticate_key(key)[0]) == set()  # the admin
    manager = BearerTokenAuthentication().authenticate_key(api_token_create(user=org.manager, name="m")[1])[0]
    assert managed_team_ids(user=manager) == {org.east.pk, org.east_north.pk, deep.pk}
