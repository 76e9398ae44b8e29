"""API fixtures: clients for every kind of caller and a small world of deals, one set per rep."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from rest_framework.test import APIClient

from pipeline.models import Account, Activity, Contact, Deal, Stage
from pipeline.services import activity_log
from salesladder.org.models import ApiScope, User
from salesladder.org.services import api_token_create, api_token_revoke
from tests.conftest import Org
from tests.factories import AccountFactory, ContactFactory, make_deal


def session_client(user: User | None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_login(user)
    return client


def token_client(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    return client


@dataclass
class Holding:
    """What one rep owns: an account with a contact, a deal at `needs` and an activity on it."""

    account: Account
    contact: Contact
    deal: Deal
    activity: Activity


@dataclass
class World:
    org: Org
    by_rep: dict[str, Holding] = field(default_factory=dict)

    def ids(self, kind: str, reps: list[str]) -> set[int]:
        return {getattr(self.by_rep[r], kind).pk for r in reps}


REPS = ["alice", "bob", "nina", "dave"]


@pytest.fixture
def world(org: Org) -> World:
    world = World(org=org)
    for name in REPS:
        user = getattr(org, name)
        account = AccountFactory(owner=user, name=f"{name.title()} Industries")
        contact = ContactFactory(account=account, name=f"{name.title()} Contact")
        deal = make_deal(owner=user, stage=Stage.NEEDS, account=account, contact=contact, title=f"{name} deal")
        activity = activity_log(deal=deal, kind="call", subject=f"Call about {name}", actor=user)
        world.by_rep[name] = Holding(account=account, contact=contact, deal=deal, activity=activity)
    return world


# Callers of the permission matrix. Token callers act as alice.
ACTORS = [
    "anonymous",
    "alice",
    "bob",
    "manager",
    "mgr_west",
    "admin",
    "token_full",
    "token_deals_read",
    "token_deals_write",
    "token_leads_write",
    "token_revoked",
]

# Which reps' objects each caller sees (None: refused before any lookup).
VISIBLE_REPS: dict[str, list[str] | None] = {
    "anonymous": None,
    "alice": ["alice"],
    "bob": ["bob"],
    "manager": ["alice", "bob", "nina"],
    "mgr_west": ["dave"],
    "admin": REPS,
    "token_full": ["alice"],
    "token_deals_read": ["alice"],
    "token_deals_write": ["alice"],
    "token_leads_write": None,
    "token_revoked": None,
}


@pytest.fixture
def client_for(org: Org):
    def make(actor: str) -> APIClient:
        if actor == "anonymous":
            return session_client(None)
        if actor.startswith("token_"):
            scopes = {
                "token_full": [],
                "token_deals_read": [ApiScope.DEALS_READ],
                "token_deals_write": [ApiScope.DEALS_WRITE],
                "token_leads_write": [ApiScope.LEADS_WRITE],
                "token_revoked": [],
            }[actor]
            token, key = api_token_create(user=org.alice, name=actor, scopes=scopes)
            if actor == "token_revoked":
                api_token_revoke(token=token)
            return token_client(key)
        return session_client(getattr(org, actor))

    return make
