"""deal_move: forward skips, backward moves, signing, conflicts, no half-saves."""

import datetime
from decimal import Decimal

import pytest

from pipeline.errors import DealClosed, GateFailed, StageConflict
from pipeline.models import Channel, Deal, DealStatus, DeliveryStatus, Stage, StageTransition, TransitionKind
from pipeline.services import deal_lose, deal_move, deal_update
from salesladder.errors import DomainError
from tests.factories import ContactFactory, lost_reason, make_deal

AT = datetime.datetime(2026, 10, 5, 9, 30, tzinfo=datetime.UTC)


def _ready_for_signing(deal: Deal) -> dict:
    return {
        "contact": ContactFactory(account=deal.account),
        "needs_summary": "Replace the old ERP for 3 plants",
        "amount": Decimal("120000"),
        "expected_close_date": datetime.date(2026, 12, 15),
        "signed_on": datetime.date(2026, 10, 5),
        "contract_amount": Decimal("118000"),
    }


def test_forward_skip_records_one_transition_per_rung_with_the_same_timestamp(org):
    # given
    deal = make_deal(owner=org.alice, stage=Stage.CONTACT)
    before = deal.transitions.count()

    # when
    moved = deal_move(
        deal=deal,
        to_stage=Stage.NEGOTIATION,
        actor=org.manager,
        channel=Channel.API,
        fields=_ready_for_signing(deal),
        at=AT,
    )

    # then
    assert moved.stage == Stage.NEGOTIATION
    assert moved.status == DealStatus.OPEN
    assert moved.stage_entered_at == AT
    new = list(deal.transitions.order_by("pk")[before:])
    assert [(t.from_stage, t.to_stage, t.kind) for t in new] == [
        ("contact", "needs", TransitionKind.FORWARD),
        ("needs", "proposal", TransitionKind.FORWARD),
        ("proposal", "negotiation", TransitionKind.FORWARD),
    ]
    assert {t.occurred_at for t in new} == {AT}
    assert {(t.owner_id, t.team_id, t.actor_id, t.channel) for t in new} == {
        (org.alice.pk, org.east.pk, org.manager.pk, Channel.API)
    }


def test_transitions_record_the_owner_and_team_at_that_moment(org):
    # given: alice climbs to needs, then the deal goes to dave (West) who moves it on
    deal = make_deal(owner=org.alice, stage=Stage.NEEDS)
    deal_update(deal=deal, actor=org.admin, owner=org.dave)

    # when
    deal_move(deal=deal, to_stage=Stage.PROPOSAL, actor=org.dave, fields={"needs_summary": "x", "amount": Decimal(1)})

    # then
    attributed = list(deal.transitions.values_list("to_stage", "owner__username", "team__name"))
    assert attributed == [
        ("prep", "alice", "East"),
        ("contact", "alice", "East"),
        ("needs", "alice", "East"),
        ("proposal", "dave", "West"),
    ]


def test_a_failed_gate_in_a_skip_writes_nothing(org):
    # given: proposal's gates would pass with the fields sent, but negotiation's expected close date is missing
    deal = make_deal(owner=org.alice, stage=Stage.CONTACT)
    contact = ContactFactory(account=deal.account)
    before = StageTransition.objects.count()

    # when
    with pytest.raises(GateFailed) as exc:
        deal_move(
            deal=deal,
            to_stage=Stage.NEGOTIATION,
            actor=org.alice,
            fields={"contact": contact, "needs_summary": "Pilot", "amount": Decimal("900"), "title": "Renamed"},
        )

    # then
    assert list(exc.value.errors) == ["expected_close_date"]
    assert exc.value.stage == Stage.NEGOTIATION
    assert StageTransition.objects.count() == before
    fresh = Deal.objects.get(pk=deal.pk)
    assert fresh.stage == Stage.CONTACT
    assert (fresh.contact_id, fresh.needs_summary, fresh.amount, fresh.title) == (None, "", None, deal.title)


def test_moving_back_writes_one_backward_transition(org):
    # given
    deal = make_deal(owner=org.alice, stage=Stage.NEGOTIATION)
    before = deal.transitions.count()

    # when
    moved = deal_move(deal=deal, to_stage=Stage.CONTACT, actor=org.alice, at=AT)

    # then
    assert moved.stage == Stage.CONTACT
    assert Deal.objects.get(pk=deal.pk).stage == Stage.CONTACT
    new = list(deal.transitions.order_by("pk")[before:])
    assert [(t.kind, t.from_stage, t.to_stage, t.from_status, t.to_status) for t in new] == [
        (TransitionKind.BACKWARD, "negotiation", "contact", "open", "open")
    ]


def test_moving_forward_again_after_a_backward_move_is_a_new_entry(org):
    deal = make_deal(owner=org.alice, stage=Stage.NEEDS)
    deal_move(deal=deal, to_stage=Stage.CONTACT, actor=org.alice)

    deal_move(deal=deal, to_stage=Stage.NEEDS, actor=org.alice)

    entries = deal.transitions.filter(to_stage=Stage.NEEDS, kind__in=["create", "forward"]).count()
    assert entries == 2


def test_entering_signing_wins_the_deal_with_delivery_not_started(org):
    # given
    deal = make_deal(owner=org.alice, stage=Stage.NEGOTIATION)
    Deal.objects.filter(pk=deal.pk).update(is_stale=True)

    # when
    deal_move(
        deal=deal,
        to_stage=Stage.SIGNING,
        actor=org.alice,
        fields={"signed_on": datetime.date(2026, 10, 5), "contract_amount": Decimal("9000")},
        at=AT,
    )

    # then
    deal.refresh_from_db()
    assert (deal.stage, deal.status, deal.delivery_status) == (
        Stage.SIGNING,
        DealStatus.WON,
        DeliveryStatus.NOT_STARTED,
    )
    assert deal.closed_at == AT
    assert deal.is_stale is False
    last = deal.transitions.get(to_stage=Stage.SIGNING)
    assert (last.from_status, last.to_status) == ("open", "won")


@pytest.mark.parametrize("status", ["won", "lost"])
def test_a_closed_deal_cannot_be_moved(org, status):
    # given
    if status == "won":
        deal = make_deal(owner=org.alice, stage=Stage.SIGNING)
    else:
        deal = deal_lose(deal=make_deal(owner=org.alice, stage=Stage.NEEDS), reason=lost_reason(), actor=org.alice)
    before = deal.transitions.count()

    # when
    with pytest.raises(DealClosed) as exc:
        deal_move(deal=deal, to_stage=Stage.CONTACT, actor=org.alice)

    # then
    assert list(exc.value.errors) == ["status"]
    assert Deal.objects.get(pk=deal.pk).status == status
    assert deal.transitions.count() == before


def test_expected_stage_that_no_longer_holds_is_a_conflict(org):
    # given: the client saw the deal in contact, someone moved it to needs since
    deal = make_deal(owner=org.alice, stage=Stage.CONTACT)
    deal_move(deal=deal, to_stage=Stage.PREP, actor=org.bob)

    # when
    with pytest.raises(StageConflict) as exc:
        deal_move(deal=deal, to_stage=Stage.NEEDS, actor=org.alice, expected_stage=Stage.CONTACT)

    # then
    assert exc.value.status_code == 409
    assert exc.value.current_stage == Stage.PREP
    assert list(exc.value.errors) == ["expected_stage"]
    assert Deal.objects.get(pk=deal.pk).stage == Stage.PREP


def test_expected_stage_that_holds_moves(org):
    deal = make_deal(owner=org.alice, stage=Stage.PREP)

    moved = deal_move(deal=deal, to_stage=Stage.CONTACT, actor=org.alice, expected_stage=Stage.PREP)

    assert moved.stage == Stage.CONTACT


def test_moving_to_the_same_stage_changes_nothing(org):
    # given
    deal = make_deal(owner=org.alice, stage=Stage.NEEDS)
    before = list(deal.transitions.values_list("pk", flat=True))
    entered = Deal.objects.get(pk=deal.pk).stage_entered_at

    # when
    moved = deal_move(deal=deal, to_stage=Stage.NEEDS, actor=org.alice, at=AT)

    # then
    assert moved.stage == Stage.NEEDS
    assert list(deal.transitions.values_list("pk", flat=True)) == before
    assert Deal.objects.get(pk=deal.pk).stage_entered_at == entered


def test_unknown_target_stage_is_a_field_error(org):
    deal = make_deal(owner=org.alice)

    with pytest.raises(DomainError) as exc:
        deal_move(deal=deal, to_stage="heaven", actor=org.alice)

    assert list(exc.value.errors) == ["to_stage"]


def test_fields_sent_with_a_move_cannot_include_stage_or_status(org):
    deal = make_deal(owner=org.alice)

    with pytest.raises(DomainError) as exc:
        deal_move(deal=deal, to_stage=Stage.CONTACT, actor=org.alice, fields={"status": "won"})

    assert list(exc.value.errors) == ["status"]
    assert Deal.objects.get(pk=deal.pk).stage == Stage.PREP


def test_a_move_restarts_the_stale_clock(org):
    # given: a stale deal nobody touched since July
    deal = make_deal(owner=org.alice, stage=Stage.CONTACT, at=datetime.datetime(2026, 7, 1, tzinfo=datetime.UTC))
    Deal.objects.filter(pk=deal.pk).update(is_stale=True)

    # when
    deal_move(deal=deal, to_stage=Stage.PREP, actor=org.alice, at=AT)

    # then
    fresh = Deal.objects.get(pk=deal.pk)
    assert (fresh.last_activity_at, fresh.is_stale) == (AT, False)
