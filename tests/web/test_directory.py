"""Accounts and contacts: lists, detail pages with their deals, create and edit forms, scoping."""

from __future__ import annotations

import pytest

from pipeline.models import Account, Contact
from tests.factories import AccountFactory, ContactFactory, make_deal

pytestmark = pytest.mark.django_db


def test_account_list_shows_visible_accounts_with_counts(login, org):
    deal = make_deal(owner=org.alice, title="Alpha")
    ContactFactory(account=deal.account)
    AccountFactory(owner=org.dave, name="West Secret Co")

    html = login(org.alice).get("/accounts/").content.decode()

    assert deal.account.name in html
    assert "West Secret Co" not in html
    assert '<td class="num">1</td>' in html


def test_account_search_and_pagination(login, org):
    for i in range(30):
        AccountFactory(owner=org.alice, name=f"Firm {i:02d}")
    client = login(org.alice)

    page1 = client.get("/accounts/").content.decode()
    found = client.get("/accounts/?search=firm+1").content.decode()

    assert "Page 1 of 2 (30 items)" in page1
    assert "Firm 10" in found
    assert "Firm 20" not in found


def test_account_detail_lists_its_deals_and_contacts(login, org):
    deal = make_deal(owner=org.alice, title="Alpha")
    contact = ContactFactory(account=deal.account, name="Li Na")

    html = login(org.alice).get(f"/accounts/{deal.account_id}/").content.decode()

    assert "Alpha" in html
    assert contact.name in html


def test_account_out_of_scope_is_404(login, org):
    account = AccountFactory(owner=org.dave)
    contact = ContactFactory(account=account)
    client = login(org.alice)

    assert client.get(f"/accounts/{account.pk}/").status_code == 404
    assert client.get(f"/accounts/{account.pk}/edit/").status_code == 404
    assert client.get(f"/contacts/{contact.pk}/").status_code == 404
    assert client.post(f"/accounts/{account.pk}/edit/", {"name": "Hacked"}).status_code == 404
    account.refresh_from_db()
    assert account.name != "Hacked"


def test_manager_sees_team_accounts(login, org):
    deal = make_deal(owner=org.alice)

    assert login(org.manager).get(f"/accounts/{deal.account_id}/").status_code == 200


def test_create_and_edit_an_account(login, org):
    client = login(org.alice)

    created = client.post("/accounts/new/", {"name": "  Acme Ltd ", "domain": "ACME.com"}, follow=True)
    account = Account.objects.get()
    edited = client.post(f"/accounts/{account.pk}/edit/", {"name": "Acme Group", "domain": "acme.com"}, follow=True)

    assert "Saved Acme Ltd." in created.content.decode()
    assert "Saved Acme Group." in edited.content.decode()
    account.refresh_from_db()
    assert (account.name, account.domain, account.owner) == ("Acme Group", "acme.com", org.alice)


def test_account_form_errors(login, org):
    response = login(org.alice).post("/accounts/new/", {"name": "   "})

    assert response.status_code == 400
    assert "This field" in response.content.decode()
    assert not Account.objects.exists()


def test_contact_list_search_and_detail(login, org):
    deal = make_deal(owner=org.alice, title="Alpha")
    li = ContactFactory(account=deal.account, name="Li Na", email="li@example.com")
    ContactFactory(account=deal.account, name="Zhang Wei")
    deal.contact = li
    deal.save()
    client = login(org.alice)

    found = client.get("/contacts/?search=li%40ex").content.decode()
    detail = client.get(f"/contacts/{li.pk}/").content.decode()

    assert "Li Na" in found
    assert "Zhang Wei" not in found
    assert "Alpha" in detail


def test_create_a_contact_in_a_visible_account_only(login, org):
    mine = AccountFactory(owner=org.alice)
    theirs = AccountFactory(owner=org.dave)
    client = login(org.alice)

    bad = client.post("/contacts/new/", {"account": theirs.pk, "name": "Spy"})
    good = client.post(
        "/contacts/new/", {"account": mine.pk, "name": "Wang Fang", "email": "wf@example.com"}, follow=True
    )

    assert bad.status_code == 400
    assert "Select a valid choice." in bad.content.decode()
    assert "Saved Wang Fang." in good.content.decode()
    assert list(Contact.objects.values_list("name", "account")) == [("Wang Fang", mine.pk)]


def test_contact_form_preselects_the_account(login, org):
    account = AccountFactory(owner=org.alice)

    html = login(org.alice).get(f"/contacts/new/?account={account.pk}").content.decode()

    assert f'<option value="{account.pk}" selected>' in html


def test_list_query_counts(login, org, django_assert_max_num_queries):
    for i in range(30):
        ContactFactory(account=AccountFactory(owner=org.alice, name=f"Firm {i}"))
    client = login(org.manager)

    with django_assert_max_num_queries(10):
        accounts = client.get("/accounts/")
    with django_assert_max_num_queries(10):
        contacts = client.get("/contacts/")

    assert accounts.content.decode().count('href="/accounts/') >= 25
    assert contacts.content.decode().count('href="/contacts/') >= 25


def test_empty_lists_explain_themselves(login, org):
    client = login(org.alice)

    assert "No accounts yet." in client.get("/accounts/").content.decode()
    assert "No contacts yet." in client.get("/contacts/").content.decode()
    assert "No deals yet." in client.get("/deals/").content.decode()


def test_edit_a_contact(login, org):
    contact = ContactFactory(account=AccountFactory(owner=org.alice), name="Li Na")
    client = login(org.alice)

    response = client.post(
        f"/contacts/{contact.pk}/edit/",
        {"account": contact.account_id, "name": "Li Na (CTO)", "email": "bad-email"},
    )
    assert response.status_code == 400
    assert "Enter a valid email address." in response.content.decode()

    client.post(f"/contacts/{contact.pk}/edit/", {"account": contact.account_id, "name": "Li Na", "title": "CTO"})

    contact.refresh_from_db()
    assert contact.title == "CTO"


def test_edit_a_contact_out_of_scope_is_404(login, org):
    contact = ContactFactory(account=AccountFactory(owner=org.dave))

    assert login(org.alice).post(f"/contacts/{contact.pk}/edit/", {"name": "x"}).status_code == 404
