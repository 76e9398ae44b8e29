"""Deal scoping: rep (own deals), manager (their teams, recursively), other team (none), admin (all).

The same rules carry over to accounts, contacts and activities.
"""

import pytest
from django.contrib.auth.models import AnonymousUser

from pipeline.models import ActivityKind
from pipeline.selectors import accounts_visible_to, activities_visible_to, contacts_visible_to, deals_visible_to
from pipeline.services import activity_log
from tests.factories import AccountFactory, ContactFactory, make_deal

VISIBLE = {
    "alice": {"alice"},
    "bob": {"bob"},
    "nina": {"nina"},
    "dave": {"dave"},
    "manager": {"alice", "bob", "nina"},
    "north_manager": {"nina"},
    "mgr_west": {"dave"},
    "admin": {"alice", "bob", "nina", "dave"},
}


@pytest.fixture
def world(org):
    """One deal per rep, on the rep's own account with a contact, each with a logged call."""
    deals = {}
    for name in ["alice", "bob", "nina", "dave"]:
        owner = getattr(org, name)
        account = AccountFactory(owner=owner, name=f"{name}'s customer")
        ContactFactory(account=account, name=f"{name}'s contact")
        deal = make_deal(owner=owner, account=account, title=f"{name}'s deal")
        activity_log(deal=deal, kind=ActivityKind.CALL, subject=f"{name}'s call", actor=owner)
        deals[name] = deal
    return deals


@pytest.mark.parametrize(("who", "owners"), VISIBLE.items())
def test_deals_visible_to(org, world, who, owners):
    visible = deals_visible_to(user=getattr(org, who))

    assert set(visible.values_list("owner__username", flat=True)) == owners


@pytest.mark.parametrize(("who", "owners"), VISIBLE.items())
def test_accounts_contacts_and_activities_follow_the_deals(org, world, who, owners):
    user = getattr(org, who)

    assert set(accounts_visible_to(user=user).values_list("name", flat=True)) == {f"{o}'s customer" for o in owners}
    assert set(contacts_visible_to(user=user).values_list("name", flat=True)) == {f"{o}'s contact" for o in owners}
    assert set(activities_visible_to(user=user).values_list("subject", flat=True)) == {f"{o}'s call" for o in owners}


def test_a_manager_sees_their_own_deals_too(org, world):
    own = make_deal(owner=org.mgr_west, title="mgr_west's own deal")

    assert own in deals_visible_to(user=org.mgr_west)
    assert own not in deals_visible_to(user=org.manager)


def test_a_deal_is_scoped_by_the_team_it_was_booked_on(org, world):
    # given: alice's deal goes to dave, and with him to West
    from pipeline.services import deal_update

    deal_update(deal=world["alice"], actor=org.admin, owner=org.dave)

    # then
    assert world["alice"] in deals_visible_to(user=org.mgr_west)
    assert world["alice"] not in deals_visible_to(user=org.manager)
    assert world["alice"] not in deals_visible_to(user=org.alice)


def test_a_rep_sees_an_account_they_have_a_deal_with(org, world):
    # given: bob sells into alice's customer
    make_deal(owner=org.bob, account=world["alice"].account, title="bob on alice's account")

    assert "alice's customer" in set(accounts_visible_to(user=org.bob).values_list("name", flat=True))
    assert "alice's customer" not in set(accounts_visible_to(user=org.dave).values_list("name", flat=True))


def test_anonymous_users_see_nothing(world):
    anonymous = AnonymousUser()

    assert not deals_visible_to(user=anonymous).exists()
    assert not accounts_visible_to(user=anonymous).exists()
    assert not contacts_visible_to(user=anonymous).exists()
    assert not activities_visible_to(user=anonymous).exists()


def test_deal_scoping_is_one_query_whatever_the_team_size(org, world, django_assert_max_num_queries):
    for _ in range(5):
        make_deal(owner=org.bob)
    manager = type(org.manager).objects.get(pk=org.manager.pk)  # a fresh object: nothing cached

    with django_assert_max_num_queries(3):
        rows = list(deals_visible_to(user=manager).select_related("owner", "team"))

    assert len(rows) == 8
