"""A rep works the board in a real browser: drag a card, meet a gate, fill it in, succeed."""

from __future__ import annotations

import pytest

from pipeline.models import Deal, Stage, StageTransition
from tests.e2e.conftest import log_in
from tests.factories import AccountFactory, make_deal

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def _drag(page, source: str, target: str) -> None:  # type: ignore[no-untyped-def]
    """Drag with real mouse events, in steps, so SortableJS sees a genuine drag."""
    card = page.locator(source).bounding_box()
    column = page.locator(target).bounding_box()
    page.mouse.move(card["x"] + 20, card["y"] + 12)
    page.mouse.down()
    page.mouse.move(card["x"] + 40, card["y"] + 30, steps=5)
    page.mouse.move(column["x"] + column["width"] / 2, column["y"] + 40, steps=20)
    page.mouse.up()


def test_rep_drags_a_card_meets_the_gate_fills_it_and_the_deal_moves(page, org, password, screenshot_dir):
    deal = make_deal(owner=org.alice, stage=Stage.CONTACT, title="Robot arms", account=AccountFactory(owner=org.alice))
    log_in(page, "alice", password)
    card = f"#deal-{deal.pk}"
    page.wait_for_selector(f'.board-list[data-stage="contact"] {card}')

    # when: the card is dropped on Needs analysis without a contact person
    _drag(page, card, '.board-list[data-stage="needs"]')

    # then: the gate explains itself with a form for exactly the missing field
    gate = page.locator(f"{card}.card-gate")
    gate.wait_for()
    assert "Contact person is required to enter this stage." in gate.inner_text()
    page.screenshot(path=str(screenshot_dir / "pipeline-gate-en.png"))
    deal.refresh_from_db()
    assert deal.stage == Stage.CONTACT

    # when: the rep fills it in and saves
    gate.get_by_label("…or add a new contact").fill("Wang Lei")
    gate.get_by_role("button", name="Save and move").click()

    # then: the card sits in Needs and the history has the transition
    page.locator(f'.board-list[data-stage="needs"] {card}.card-open').wait_for()
    assert "Moved “Robot arms” to Needs analysis." in page.locator("#messages").inner_text()
    assert page.locator('[data-testid="count-needs"]').inner_text() == "1 deal"
    deal.refresh_from_db()
    assert deal.stage == Stage.NEEDS
    assert deal.contact.name == "Wang Lei"
    last = StageTransition.objects.filter(deal=deal).latest("pk")
    assert (last.from_stage, last.to_stage, last.channel, last.actor_id) == ("contact", "needs", "ui", org.alice.pk)


def test_cancelling_the_gate_form_puts_the_card_back(page, org, password):
    deal = make_deal(owner=org.alice, stage=Stage.CONTACT, title="Robot arms")
    log_in(page, "alice", password)
    card = f"#deal-{deal.pk}"

    _drag(page, card, '.board-list[data-stage="needs"]')
    page.locator(f"{card}.card-gate").get_by_role("button", name="Cancel").click()

    page.locator(f'.board-list[data-stage="contact"] {card}.card-open').wait_for()
    assert page.locator(f'.board-list[data-stage="needs"] {card}').count() == 0
    assert Deal.objects.get(pk=deal.pk).stage == Stage.CONTACT


def test_keyboard_move_menu(page, org, password):
    deal = make_deal(owner=org.alice, stage=Stage.PREP, title="Keyboard deal")
    log_in(page, "alice", password)
    card = page.locator(f"#deal-{deal.pk}")

    card.locator("summary").focus()
    page.keyboard.press("Enter")
    card.get_by_role("button", name="First contact").focus()
    page.keyboard.press("Enter")

    page.locator(f'.board-list[data-stage="contact"] #deal-{deal.pk}').wait_for()
    assert Deal.objects.get(pk=deal.pk).stage == Stage.CONTACT
    # focus comes back to the moved card, so the keyboard user can carry on from there
    page.wait_for_function(f"document.activeElement.closest('#deal-{deal.pk}') !== null")
