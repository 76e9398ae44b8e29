"""Matching incoming leads to existing accounts and contacts."""

from __future__ import annotations

from pipeline.models import Account, Contact, Deal
from tests.factories import AccountFactory, ContactFactory
from tests.intake.helpers import TokenClient, lead


def test_a_lead_joins_the_account_with_the_same_normalised_company_name(org):
    acme = AccountFactory(name="Acme Co., Ltd.", owner=org.bob)
    client = TokenClient(org.manager, team=org.east)

    client.post(lead(1, company="ACME co ltd", email="jane@acme-mail.example"))

    assert Deal.objects.get().account == acme
    assert Account.objects.count() == 1


def test_chinese_legal_suffixes_do_not_prevent_a_match(org):
    account = AccountFactory(name="华为技术有限公司", owner=org.bob)
    client = TokenClient(org.manager, team=org.east)

    client.post(lead(1, company="华为技术", email="li@huawei.example"))

    assert Deal.objects.get().account == account


def test_a_lead_without_company_joins_the_account_of_its_email_domain(org):
    acme = AccountFactory(name="Acme", domain="acme.com", owner=org.bob)
    client = TokenClient(org.manager, team=org.east)

    client.post(lead(1, company=None, email="Jane@ACME.com"))

    assert Deal.objects.get().account == acme


def test_free_mail_domains_never_match_or_merge_accounts(org):
    AccountFactory(name="Somebody", domain="gmail.com", owner=org.bob)  # a bad row must not attract leads
    client = TokenClient(org.manager, team=org.east)

    client.post({"leads": [lead(1, company=None, email="a@gmail.com"), lead(2, company=None, email="b@qq.com")]})

    accounts = {d.account.name for d in Deal.objects.select_related("account")}
    assert accounts == {"Person 1", "Person 2"}
    assert Account.objects.filter(domain__in=["gmail.com", "qq.com"]).count() == 1  # only the pre-existing one


def test_new_companies_in_one_batch_become_one_account_each(org):
    client = TokenClient(org.manager, team=org.east)

    client.post(
        {
            "leads": [
                lead(1, company="Globex Ltd", email="a@globex.example"),
                lead(2, company="GLOBEX", email="b@globex.example"),
                lead(3, company=None, email="c@globex.example"),
            ]
        }
    )

    assert Account.objects.count() == 1
    account = Account.objects.get()
    assert (account.name, account.domain) == ("Globex Ltd", "globex.example")
    assert Deal.objects.filter(account=account).count() == 3


def test_a_known_contact_is_reused_by_email_within_the_account(org):
    acme = AccountFactory(name="Acme", owner=org.bob)
    jane = ContactFactory(account=acme, name="Jane Doe", email="Jane@Acme.example")
    client = TokenClient(org.manager, team=org.east)

    client.post(lead(1, company="Acme", email="jane@acme.example", contact_name="Jane D."))

    assert Deal.objects.get().contact == jane
    assert Contact.objects.count() == 1


def test_the_same_email_at_another_company_is_another_contact(org):
    acme = AccountFactory(name="Acme", owner=org.bob)
    ContactFactory(account=acme, email="jane@example.org")
    client = TokenClient(org.manager, team=org.east)

    client.post(lead(1, company="Initech", email="jane@example.org"))

    deal = Deal.objects.select_related("contact__account").get()
    assert deal.contact.account.name == "Initech"
    assert Contact.objects.count() == 2


def test_resending_with_a_new_phone_updates_the_contact(org):
    client = TokenClient(org.manager, team=org.east)
    client.post(lead(1))

    result = client.post(lead(1, phone="+86 10 1234 5678")).json()["results"][0]

    assert result["status"] == "updated"
    assert Contact.objects.get().phone == "+86 10 1234 5678"


def test_resending_with_another_company_moves_the_deal_to_that_account(org):
    client = TokenClient(org.manager, team=org.east)
    client.post(lead(1))

    result = client.post(lead(1, company="Umbrella Corp", email="p1@umbrella.example")).json()["results"][0]

    assert result["status"] == "updated"
    deal = Deal.objects.select_related("account", "contact").get()
    assert deal.account.name == "Umbrella Corp"
    assert deal.contact.account_id == deal.account_id
    assert deal.contact.email == "p1@umbrella.example"


def test_an_unknown_company_name_still_matches_by_corporate_email_domain(org):
    client = TokenClient(org.manager, team=org.east)
    client.post(lead(1))

    client.post(lead(2, company="Company One International", email="sales@company1.example"))

    assert len(set(Deal.objects.values_list("account", flat=True))) == 1


def test_legal_forms_are_dropped_from_the_end_only_and_as_many_as_there_are():
    from pipeline.services import normalize_company_name as key

    assert key("Acme Co., Ltd.") == key("ACME co ltd") == key("Acme") == "acme"
    assert key("ABC集团有限公司") == key("ABC集团公司") == key("ABC集团") == key("ABC") == "abc"
    assert key("阿里巴巴（中国）有限公司") == key("阿里巴巴(中国)") == "阿里巴巴 中国"
    assert key("Ｓｏｎｙ  Corp") == "sony"  # full-width letters, doubled spaces
    # a legal word elsewhere in the name is part of the name
    assert key("Corporation Bank") != key("Bank Corp.")
    assert key("Limited Brands") != key("Brands Ltd")
    assert key("Co-op Food") != key("Op Food Co")
    assert key("Company") == "company"  # never reduced to nothing


def test_a_lead_for_a_different_company_sharing_a_legal_word_starts_its_own_account(org):
    bank = AccountFactory(name="Corporation Bank", owner=org.bob)
    client = TokenClient(org.manager, team=org.east)

    client.post(
        {"leads": [lead(1, company="Bank Corp.", email="a@bankcorp.example"), lead(2, company="CORPORATION BANK")]}
    )

    by_ref = {d.external_id: d.account for d in Deal.objects.select_related("account")}
    assert by_ref["L-2"] == bank
    assert by_ref["L-1"] != bank
    assert by_ref["L-1"].name == "Bank Corp."


def test_the_migration_recomputes_the_keys_of_existing_accounts(org):
    from importlib import import_module

    from django.apps import apps

    stale = AccountFactory(name="Corporation Bank", owner=org.bob)
    Account.objects.filter(pk=stale.pk).update(normalized_name="bank")  # the old rule's key

    import_module("pipeline.migrations.0008_account_names_matched_by_trailing_forms").recompute(apps, None)

    stale.refresh_from_db()
    assert stale.normalized_name == "corporation bank"
