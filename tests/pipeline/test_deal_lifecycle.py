"""deal_create, deal_update, deal_lose, deal_reopen."""

import datetime
from decimal import Decimal

import pytest

from pipeline.errors import DealClosed, StageConflict
from pipeline.models import Channel, Deal, DealStatus, DeliveryStatus, Stage, TransitionKind
from pipeline.services import deal_create, deal_lose, deal_move, deal_reopen, deal_update
from salesladder.errors import DomainError
from tests.factories import AccountFactory, ContactFactory, UserFactory, lost_reason, make_deal

AT = datetime.datetime(2026, 9, 1, 8, 0, tzinfo=datetime.UTC)


# --- creation --------------------------------------------------------------------------------


@pytest.mark.parametrize("stage", Stage.values)
def test_creating_at_a_stage_records_every_rung_up_to_it(org, stage):
    # when
    deal = make_deal(owner=org.bob, stage=stage, channel=Channel.IMPORT, at=AT)

    # then
    rungs = Stage.values[: Stage.values.index(stage) + 1]
    history = list(deal.transitions.order_by("pk").values_list("from_stage", "to_stage", "kind"))
    assert history == [
        ("" if i == 0 else rungs[i - 1], rung, TransitionKind.CREATE if i == 0 else TransitionKind.FORWARD)
        for i, rung in enumerate(rungs)
    ]
    assert set(deal.transitions.values_list("occurred_at", "owner_id", "team_id", "channel")) == {
        (AT, org.bob.pk, org.east.pk, Channel.IMPORT)
    }
    assert (deal.created_at, deal.stage_entered_at) == (AT, AT)


def test_creating_at_signing_makes_a_won_deal(org):
    deal = make_deal(owner=org.alice, stage=Stage.SIGNING, at=AT)

    deal.refresh_from_db()
    assert (deal.status, deal.delivery_status, deal.closed_at) == (DealStatus.WON, DeliveryStatus.NOT_STARTED, AT)
    assert deal.transitions.get(to_stage=Stage.SIGNING).to_status == DealStatus.WON


def test_creation_attributes_the_deal_to_the_owners_rep_team(org):
    deal = make_deal(owner=org.nina)

    assert deal.team == org.east_north


def test_an_owner_without_a_team_cannot_own_a_deal(org):
    loner = UserFactory(username="loner")

    with pytest.raises(DomainError) as exc:
        make_deal(owner=loner)

    assert list(exc.value.errors) == ["owner"]
    assert not Deal.objects.filter(owner=loner).exists()


def test_blank_title_is_refused(org):
    with pytest.raises(DomainError) as exc:
        deal_create(title="  ", account=AccountFactory(owner=org.alice), owner=org.alice, actor=org.alice)

    assert list(exc.value.errors) == ["title"]


def test_a_contact_from_another_account_is_refused(org):
    # given
    account = AccountFactory(owner=org.alice)
    stranger = ContactFactory(account=AccountFactory(owner=org.alice))

    # when
    with pytest.raises(DomainError) as exc:
        deal_create(title="Mixed", account=account, owner=org.alice, actor=org.alice, contact=stranger)

    # then
    assert list(exc.value.errors) == ["contact"]
    assert not Deal.objects.filter(title="Mixed").exists()


def test_a_negative_amount_is_a_field_error_not_a_crash(org):
    with pytest.raises(DomainError) as exc:
        make_deal(owner=org.alice, amount=Decimal("-5"))

    assert list(exc.value.errors) == ["amount"]


# --- updates ---------------------------------------------------------------------------------


@pytest.mark.parametrize("field", ["stage", "status"])
def test_update_never_changes_stage_or_status(org, field):
    # given
    deal = make_deal(owner=org.alice, stage=Stage.CONTACT)

    # when
    with pytest.raises(DomainError) as exc:
        deal_update(deal=deal, actor=org.alice, title="New title", **{field: "signing" if field == "stage" else "won"})

    # then
    assert list(exc.value.errors) == [field]
    fresh = Deal.objects.get(pk=deal.pk)
    assert (fresh.stage, fresh.status, fresh.title) == (Stage.CONTACT, DealStatus.OPEN, deal.title)


def test_update_changes_fields_and_leaves_the_history_alone(org):
    # given
    deal = make_deal(owner=org.alice, stage=Stage.NEEDS)
    history = deal.transitions.count()

    # when
    deal_update(deal=deal, actor=org.alice, title="ERP roll-out", amount=Decimal("25000.50"), notes="Call back Monday")

    # then
    fresh = Deal.objects.get(pk=deal.pk)
    assert (fresh.title, fresh.amount, fresh.notes, fresh.stage) == (
        "ERP roll-out",
        Decimal("25000.50"),
        "Call back Monday",
        Stage.NEEDS,
    )
    assert fresh.transitions.count() == history


def test_an_owner_change_re_attributes_the_team(org):
    deal = make_deal(owner=org.alice)

    deal_update(deal=deal, actor=org.admin, owner=org.dave)

    fresh = Deal.objects.get(pk=deal.pk)
    assert (fresh.owner, fresh.team) == (org.dave, org.west)


def test_update_refuses_a_contact_from_another_account(org):
    deal = make_deal(owner=org.alice)
    stranger = ContactFactory(account=AccountFactory(owner=org.alice))

    with pytest.raises(DomainError) as exc:
        deal_update(deal=deal, actor=org.alice, contact=stranger)

    assert list(exc.value.errors) == ["contact"]
    assert Deal.objects.get(pk=deal.pk).contact_id is None


def test_update_refuses_fields_that_are_not_editable(org):
    deal = make_deal(owner=org.alice)

    with pytest.raises(DomainError) as exc:
        deal_update(deal=deal, actor=org.alice, closed_at=AT)

    assert list(exc.value.errors) == ["closed_at"]


def test_update_refuses_a_blank_title(org):
    deal = make_deal(owner=org.alice)

    with pytest.raises(DomainError) as exc:
        deal_update(deal=deal, actor=org.alice, title=" ")

    assert list(exc.value.errors) == ["title"]
    assert Deal.objects.get(pk=deal.pk).title == deal.title


# --- lose and reopen -------------------------------------------------------------------------


def test_losing_needs_a_reason(org):
    deal = make_deal(owner=org.alice, stage=Stage.NEEDS)

    with pytest.raises(DomainError) as exc:
        deal_lose(deal=deal, reason=None, actor=org.alice)

    assert list(exc.value.errors) == ["reason"]
    assert Deal.objects.get(pk=deal.pk).status == DealStatus.OPEN


def test_losing_writes_a_status_transition_on_the_same_stage(org):
    # given
    deal = make_deal(owner=org.alice, stage=Stage.PROPOSAL)

    # when
    deal_lose(deal=deal, reason=lost_reason("competitor"), note=" Went with Acme ", actor=org.alice, at=AT)

    # then
    fresh = Deal.objects.get(pk=deal.pk)
    assert (fresh.status, fresh.stage, fresh.lost_reason.code, fresh.lost_note, fresh.closed_at) == (
        DealStatus.LOST,
        Stage.PROPOSAL,
        "competitor",
        "Went with Acme",
        AT,
    )
    last = fresh.transitions.order_by("pk").last()
    assert (last.kind, last.from_stage, last.to_stage, last.from_status, last.to_status, last.occurred_at) == (
        TransitionKind.LOSE,
        "proposal",
        "proposal",
        "open",
        "lost",
        AT,
    )


def test_a_lost_deal_cannot_be_lost_again(org):
    deal = deal_lose(deal=make_deal(owner=org.alice), reason=lost_reason(), actor=org.alice)

    with pytest.raises(DealClosed) as exc:
        deal_lose(deal=deal, reason=lost_reason("timing"), actor=org.alice)

    assert list(exc.value.errors) == ["status"]
    assert Deal.objects.get(pk=deal.pk).lost_reason.code == "price"


def test_a_won_deal_cannot_be_lost(org):
    deal = make_deal(owner=org.alice, stage=Stage.SIGNING)

    with pytest.raises(DealClosed):
        deal_lose(deal=deal, reason=lost_reason(), actor=org.alice)

    assert Deal.objects.get(pk=deal.pk).status == DealStatus.WON


def test_reopen_returns_to_the_stage_it_was_lost_from(org):
    # given
    deal = make_deal(owner=org.alice, stage=Stage.NEGOTIATION)
    deal_lose(deal=deal, reason=lost_reason(), actor=org.alice)

    # when
    deal_reopen(deal=deal, actor=org.manager, channel=Channel.ADMIN, at=AT)

    # then
    fresh = Deal.objects.get(pk=deal.pk)
    assert (fresh.status, fresh.stage, fresh.lost_reason, fresh.closed_at) == (
        DealStatus.OPEN,
        Stage.NEGOTIATION,
        None,
        None,
    )
    last = fresh.transitions.order_by("pk").last()
    assert (last.kind, last.from_stage, last.to_stage, last.from_status, last.to_status, last.actor) == (
        TransitionKind.REOPEN,
        "negotiation",
        "negotiation",
        "lost",
        "open",
        org.manager,
    )
    # and it can climb again
    deal_move(deal=fresh, to_stage=Stage.PROPOSAL, actor=org.alice)
    assert Deal.objects.get(pk=deal.pk).stage == Stage.PROPOSAL


def test_a_reopened_deal_can_climb_to_signing(org):
    deal = deal_lose(deal=make_deal(owner=org.alice, stage=Stage.NEGOTIATION), reason=lost_reason(), actor=org.alice)
    deal_reopen(deal=deal, actor=org.alice)

    deal_move(
        deal=deal,
        to_stage=Stage.SIGNING,
        actor=org.alice,
        fields={"signed_on": datetime.date(2026, 9, 2), "contract_amount": Decimal("7000")},
    )

    assert Deal.objects.get(pk=deal.pk).status == DealStatus.WON


@pytest.mark.parametrize("stage", [Stage.NEEDS, Stage.SIGNING])
def test_only_lost_deals_can_be_reopened(org, stage):
    deal = make_deal(owner=org.alice, stage=stage)

    with pytest.raises(DealClosed):
        deal_reopen(deal=deal, actor=org.alice)

    assert deal.transitions.filter(kind=TransitionKind.REOPEN).count() == 0


def test_a_duplicate_source_and_external_id_is_a_field_error(org):
    make_deal(owner=org.alice, source="expo", external_id="A-1")
    other = make_deal(owner=org.bob, source="expo")

    with pytest.raises(DomainError) as exc:
        deal_update(deal=other, actor=org.bob, external_id="A-1")

    assert list(exc.value.errors) == ["external_id"]
    assert Deal.objects.get(pk=other.pk).external_id == ""


def test_delivery_is_tracked_on_won_deals_only(org):
    won = make_deal(owner=org.alice, stage=Stage.SIGNING)
    open_deal = make_deal(owner=org.alice, stage=Stage.NEGOTIATION)

    deal_update(deal=won, actor=org.alice, delivery_status=DeliveryStatus.IN_PROGRESS)
    with pytest.raises(DomainError) as exc:
        deal_update(deal=open_deal, actor=org.alice, delivery_status=DeliveryStatus.DELIVERED)

    assert Deal.objects.get(pk=won.pk).delivery_status == DeliveryStatus.IN_PROGRESS
    assert list(exc.value.errors) == ["delivery_status"]
    assert Deal.objects.get(pk=open_deal.pk).delivery_status == ""


def test_losing_with_a_stale_expected_stage_is_a_conflict(org):
    deal = make_deal(owner=org.alice, stage=Stage.NEEDS)
    deal_move(deal=deal, to_stage=Stage.CONTACT, actor=org.bob)

    with pytest.raises(StageConflict):
        deal_lose(deal=deal, reason=lost_reason(), actor=org.alice, expected_stage=Stage.NEEDS)

    assert Deal.objects.get(pk=deal.pk).status == DealStatus.OPEN
