"""Gates: the exit criteria of each rung, checked on every forward move and on creation."""

import datetime
from decimal import Decimal

import pytest

from pipeline.errors import GateFailed
from pipeline.models import Deal, GateField, GateRule, Stage, StageGate
from pipeline.services import deal_create, deal_move
from tests.factories import AccountFactory, ContactFactory, make_deal

# stage entered, the field its default gate requires, a value that satisfies it (a callable for the contact)
DEFAULT_GATES = [
    (Stage.NEEDS, "contact", None),
    (Stage.PROPOSAL, "needs_summary", "Wants 20 seats"),
    (Stage.PROPOSAL, "amount", Decimal("5000")),
    (Stage.NEGOTIATION, "expected_close_date", datetime.date(2026, 12, 31)),
    (Stage.SIGNING, "signed_on", datetime.date(2026, 11, 20)),
    (Stage.SIGNING, "contract_amount", Decimal("4800")),
]


def _previous(stage: str) -> str:
    return Stage.values[Stage.values.index(stage) - 1]


def _deal_one_rung_below(org, stage: str, missing: str) -> Deal:
    """A deal on the rung below ``stage`` with every gate field filled except ``missing``."""
    deal = make_deal(owner=org.alice, stage=_previous(stage))
    complete = {
        "contact": ContactFactory(account=deal.account),
        "needs_summary": "Wants 20 seats",
        "amount": Decimal("5000"),
        "expected_close_date": datetime.date(2026, 12, 31),
        "signed_on": datetime.date(2026, 11, 20),
        "contract_amount": Decimal("4800"),
    }
    complete[missing] = "" if missing == "needs_summary" else None
    Deal.objects.filter(pk=deal.pk).update(**complete)
    deal.refresh_from_db()
    return deal


@pytest.mark.parametrize(("stage", "field", "_value"), DEFAULT_GATES, ids=[f"{s}-{f}" for s, f, _ in DEFAULT_GATES])
def test_default_gate_blocks_with_its_field_and_nothing_moves(org, stage, field, _value):
    # given
    deal = _deal_one_rung_below(org, stage, missing=field)

    # when
    with pytest.raises(GateFailed) as exc:
        deal_move(deal=deal, to_stage=stage, actor=org.alice)

    # then
    assert list(exc.value.errors) == [field]
    assert exc.value.stage == stage
    deal.refresh_from_db()
    assert deal.stage == _previous(stage)
    assert deal.transitions.filter(to_stage=stage).count() == 0


@pytest.mark.parametrize(("stage", "field", "_value"), DEFAULT_GATES, ids=[f"{s}-{f}" for s, f, _ in DEFAULT_GATES])
def test_default_gate_passes_once_the_field_is_filled(org, stage, field, _value):
    # given
    deal = _deal_one_rung_below(org, stage, missing=field)
    value = ContactFactory(account=deal.account) if field == "contact" else _value

    # when
    moved = deal_move(deal=deal, to_stage=stage, actor=org.alice, fields={field: value})

    # then
    assert moved.stage == stage
    deal.refresh_from_db()
    assert deal.stage == stage
    assert getattr(deal, field) == value


@pytest.mark.parametrize("amount", [Decimal("0"), None])
def test_amount_gate_needs_more_than_zero(org, amount):
    # given
    deal = make_deal(owner=org.alice, stage=Stage.NEEDS, needs_summary="Wants a pilot")

    # when
    with pytest.raises(GateFailed) as exc:
        deal_move(deal=deal, to_stage=Stage.PROPOSAL, actor=org.alice, fields={"amount": amount})

    # then
    assert list(exc.value.errors) == ["amount"]
    assert "greater than zero" in exc.value.errors["amount"][0]


def test_blank_needs_summary_does_not_count_as_filled(org):
    deal = make_deal(owner=org.alice, stage=Stage.NEEDS, amount=Decimal("10"))

    with pytest.raises(GateFailed) as exc:
        deal_move(deal=deal, to_stage=Stage.PROPOSAL, actor=org.alice, fields={"needs_summary": "   "})

    assert list(exc.value.errors) == ["needs_summary"]


def test_every_failing_field_is_reported_at_once(org):
    deal = make_deal(owner=org.alice, stage=Stage.NEGOTIATION)

    with pytest.raises(GateFailed) as exc:
        deal_move(deal=deal, to_stage=Stage.SIGNING, actor=org.alice)

    assert set(exc.value.errors) == {"signed_on", "contract_amount"}


def test_a_gate_disabled_by_an_admin_no_longer_blocks(org):
    # given
    StageGate.objects.filter(stage=Stage.NEEDS, field=GateField.CONTACT).update(is_active=False)
    deal = make_deal(owner=org.alice, stage=Stage.CONTACT)

    # when
    moved = deal_move(deal=deal, to_stage=Stage.NEEDS, actor=org.alice)

    # then
    assert moved.stage == Stage.NEEDS
    assert moved.contact_id is None


def test_a_gate_added_as_data_blocks(org):
    # given
    StageGate.objects.create(stage=Stage.CONTACT, field=GateField.AMOUNT, rule=GateRule.POSITIVE)
    deal = make_deal(owner=org.alice, stage=Stage.PREP)

    # when
    with pytest.raises(GateFailed) as exc:
        deal_move(deal=deal, to_stage=Stage.CONTACT, actor=org.alice)

    # then
    assert list(exc.value.errors) == ["amount"]
    deal.refresh_from_db()
    assert deal.stage == Stage.PREP


def test_gates_are_checked_when_creating_at_a_later_stage(org):
    account = AccountFactory(owner=org.alice)

    with pytest.raises(GateFailed) as exc:
        deal_create(title="Big one", account=account, owner=org.alice, actor=org.alice, stage=Stage.PROPOSAL)

    assert set(exc.value.errors) == {"contact", "needs_summary", "amount"}
    assert exc.value.stage == Stage.NEEDS
    assert not Deal.objects.filter(title="Big one").exists()


def test_gates_are_not_checked_when_moving_back(org):
    # given: a deal in proposal whose gate fields were later emptied
    deal = make_deal(owner=org.alice, stage=Stage.PROPOSAL)
    Deal.objects.filter(pk=deal.pk).update(contact=None, needs_summary="")

    # when
    moved = deal_move(deal=deal, to_stage=Stage.CONTACT, actor=org.alice)

    # then
    assert moved.stage == Stage.CONTACT
