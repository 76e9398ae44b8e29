"""The Django admin on day one: deals filterable by stage, history read-only, edits through deal_update."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse

from pipeline.models import Deal, DealStatus, Stage, StageTransition
from tests.factories import AccountFactory, ContactFactory, make_deal


@pytest.fixture
def admin_client(client, org, password):
    client.login(username="admin", password=password)
    return client


def _post_data(response) -> dict:
    """The change form as the browser would submit it unchanged: main form plus inline management forms."""
    form = response.context["adminform"].form
    data = {}
    for name in form.fields:
        value = form[name].value()
        if value is None:
            continue
        data[name] = [str(v) for v in value] if isinstance(value, list | tuple) else str(value)
    for inline in response.context["inline_admin_formsets"]:
        formset = inline.formset
        for key, value in formset.management_form.initial.items():
            data[f"{formset.prefix}-{key}"] = value
        for i, f in enumerate(formset.initial_forms):
            data[f"{formset.prefix}-{i}-id"] = f.instance.pk
            data[f"{formset.prefix}-{i}-deal"] = f.instance.deal_id
    return data


def test_the_deal_list_filters_by_stage(admin_client, org):
    # given
    needs = [make_deal(owner=org.alice, stage=Stage.NEEDS, title=f"Needs deal {i}") for i in range(2)]
    make_deal(owner=org.bob, stage=Stage.PROPOSAL, title="Proposal deal")
    make_deal(owner=org.dave, stage=Stage.PREP, title="Prep deal")

    # when
    response = admin_client.get(reverse("admin:pipeline_deal_changelist") + "?stage__exact=needs")

    # then
    assert response.status_code == 200
    assert {d.pk for d in response.context["cl"].result_list} == {d.pk for d in needs}
    assert b"Needs deal 0" in response.content
    assert b"Proposal deal" not in response.content


@pytest.mark.parametrize("query", ["status__exact=open", "team__id__exact={west}", "owner__id__exact={dave}", "q=Acme"])
def test_the_deal_list_filters_and_searches(admin_client, org, query):
    acme = make_deal(owner=org.dave, account=AccountFactory(owner=org.dave, name="Acme Ltd"), title="Acme deal")

    response = admin_client.get(
        reverse("admin:pipeline_deal_changelist") + "?" + query.format(west=org.west.pk, dave=org.dave.pk)
    )

    assert response.status_code == 200
    assert acme in list(response.context["cl"].result_list)


def test_the_deal_page_shows_the_history_read_only(admin_client, org):
    # given
    deal = make_deal(owner=org.alice, stage=Stage.NEEDS)

    # when
    response = admin_client.get(reverse("admin:pipeline_deal_change", args=[deal.pk]))

    # then
    assert response.status_code == 200
    inline = next(i for i in response.context["inline_admin_formsets"] if i.formset.model is StageTransition)
    assert [f.instance.to_stage for f in inline.formset.forms] == ["prep", "contact", "needs"]
    assert not inline.has_add_permission
    assert not inline.formset.can_delete
    assert not inline.has_change_permission
    assert inline.readonly_fields  # every column is read-only
    assert set(inline.formset.forms[0].fields) <= {"id", "deal", "DELETE"}
    content = response.content.decode()
    assert 'name="transitions-0-to_stage"' not in content
    assert 'name="stage"' not in content  # stage is shown, never edited here


def test_saving_a_deal_in_the_admin_goes_through_deal_update(admin_client, org):
    # given
    deal = make_deal(owner=org.alice, stage=Stage.PROPOSAL)
    url = reverse("admin:pipeline_deal_change", args=[deal.pk])
    data = _post_data(admin_client.get(url))
    history = deal.transitions.count()

    # when: the admin renames the deal and hands it to dave (West)
    data.update(title="Renamed in admin", owner=str(org.dave.pk), amount="20000.00")
    response = admin_client.post(url, data)

    # then
    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else ""
    fresh = Deal.objects.get(pk=deal.pk)
    assert (fresh.title, fresh.owner, fresh.amount) == ("Renamed in admin", org.dave, Decimal("20000.00"))
    assert fresh.team == org.west  # re-attributed by the service, the admin form cannot set the team
    assert (fresh.stage, fresh.status) == (Stage.PROPOSAL, DealStatus.OPEN)
    assert fresh.transitions.count() == history


def test_the_admin_cannot_set_the_stage_by_posting_it(admin_client, org):
    deal = make_deal(owner=org.alice, stage=Stage.PREP)
    url = reverse("admin:pipeline_deal_change", args=[deal.pk])
    data = _post_data(admin_client.get(url))

    data.update(stage="signing", status="won")
    admin_client.post(url, data)

    fresh = Deal.objects.get(pk=deal.pk)
    assert (fresh.stage, fresh.status) == (Stage.PREP, DealStatus.OPEN)
    assert fresh.transitions.count() == 1


def test_an_invalid_edit_in_the_admin_is_shown_and_saves_nothing(admin_client, org):
    # given
    deal = make_deal(owner=org.alice, stage=Stage.CONTACT)
    stranger = ContactFactory(account=AccountFactory(owner=org.alice))
    url = reverse("admin:pipeline_deal_change", args=[deal.pk])
    data = _post_data(admin_client.get(url))

    # when
    data.update(contact=str(stranger.pk), title="Should not stick")
    response = admin_client.post(url, data, follow=True)

    # then
    assert "another account" in response.content.decode()
    fresh = Deal.objects.get(pk=deal.pk)
    assert (fresh.contact_id, fresh.title) == (None, deal.title)


def test_a_rep_cannot_open_the_admin(client, org, password):
    client.login(username="alice", password=password)

    response = client.get(reverse("admin:pipeline_deal_changelist"))

    assert response.status_code == 302
    assert "/login" in response["Location"]


def test_the_reopen_action_reopens_lost_deals_only_and_says_how_many(admin_client, org):
    from pipeline.services import deal_lose
    from tests.factories import lost_reason

    lost = [make_deal(owner=org.alice, stage=Stage.NEEDS, title=f"Lost {i}") for i in range(2)]
    for deal in lost:
        deal_lose(deal=deal, reason=lost_reason(), actor=org.manager)
    still_open = make_deal(owner=org.alice, stage=Stage.PREP, title="Open one")

    response = admin_client.post(
        reverse("admin:pipeline_deal_changelist"),
        {"action": "reopen_selected", "_selected_action": [d.pk for d in [*lost, still_open]]},
        follow=True,
    )

    assert "Reopened 2 deals." in response.content.decode()
    assert set(Deal.objects.values_list("status", flat=True)) == {DealStatus.OPEN}
    assert StageTransition.objects.filter(deal=still_open).count() == 1  # untouched


def test_the_reopen_action_speaks_chinese(admin_client, org):
    make_deal(owner=org.alice, stage=Stage.PREP)  # the action menu shows when the list has rows

    response = admin_client.get(reverse("admin:pipeline_deal_changelist"), HTTP_ACCEPT_LANGUAGE="zh-hans")

    assert "重新打开所选的已丢单商机" in response.content.decode()
