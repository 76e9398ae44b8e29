"""Concurrent moves on PostgreSQL with real threads and real transactions.

Eight threads race ``deal_move`` on one deal. The row lock serialises them: with ``expected_stage`` exactly
one wins and the others get StageConflict; without it every move lands on the stage the previous one left.
Either way nothing is lost: the transition history replays, rung by rung, to the deal's final stage.
"""

from __future__ import annotations

import datetime
import threading
from collections.abc import Callable
from decimal import Decimal

import pytest
from django.db import connection

from pipeline.errors import StageConflict
from pipeline.models import Deal, Stage
from tests.factories import AccountFactory, ContactFactory, make_deal

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

THREADS = 8


def _open_deal(org) -> Deal:
    """A deal in prep with every field the gates up to negotiation need, so only the race decides."""
    account = AccountFactory(owner=org.alice)
    return make_deal(
        owner=org.alice,
        account=account,
        contact=ContactFactory(account=account),
        needs_summary="Fleet tracking for 40 trucks",
        amount=Decimal("56000"),
        expected_close_date=datetime.date(2027, 1, 31),
    )


def _race(work: Callable[[int], str]) -> list[str]:
    """Run ``work(i)`` in THREADS threads released together; each closes its own connection."""
    barrier = threading.Barrier(THREADS)
    results: list[str] = [""] * THREADS

    def run(i: int) -> None:
        try:
            barrier.wait(timeout=10)
            results[i] = work(i)
        except StageConflict:
            results[i] = "conflict"
        except Exception as exc:  # surfaced by the assertions below
            results[i] = f"error: {exc!r}"
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return results


def _replay(deal: Deal) -> tuple[str, str]:
    """Walk the history; every step must start where the previous one ended."""
    stage, status = "", ""
    for t in deal.transitions.order_by("occurred_at", "pk"):
        assert (t.from_stage, t.from_status) == (stage, status), f"broken chain at {t}"
        stage, status = t.to_stage, t.to_status
    return stage, status


def test_same_expected_stage_exactly_one_wins(org):
    # given
    deal = _open_deal(org)
    users = [org.alice, org.bob, org.manager, org.admin] * 2

    # when: all eight saw the deal in prep and move it to contact
    def move(i: int) -> str:
        from pipeline.services import deal_move

        deal_move(deal=deal, to_stage=Stage.CONTACT, actor=users[i], expected_stage=Stage.PREP)
        return "moved"

    results = _race(move)

    # then
    assert sorted(results) == ["conflict"] * (THREADS - 1) + ["moved"]
    fresh = Deal.objects.get(pk=deal.pk)
    assert fresh.stage == Stage.CONTACT
    assert fresh.transitions.filter(to_stage=Stage.CONTACT).count() == 1
    assert _replay(fresh) == (Stage.CONTACT, "open")


def test_rounds_of_races_one_winner_per_expected_stage(org):
    # given
    deal = _open_deal(org)
    ladder = [Stage.PREP, Stage.CONTACT, Stage.NEEDS, Stage.PROPOSAL]

    # when: three rounds, each racing from the stage the previous round reached
    for here, there in zip(ladder, ladder[1:], strict=False):

        def move(i: int, here: str = here, there: str = there) -> str:
            from pipeline.services import deal_move

            deal_move(deal=deal, to_stage=there, actor=org.alice, expected_stage=here)
            return "moved"

        results = _race(move)

        # then
        assert sorted(results) == ["conflict"] * (THREADS - 1) + ["moved"], (here, results)

    fresh = Deal.objects.get(pk=deal.pk)
    assert fresh.stage == Stage.PROPOSAL
    assert list(fresh.transitions.order_by("pk").values_list("to_stage", flat=True)) == ladder
    assert _replay(fresh) == (Stage.PROPOSAL, "open")


def test_different_targets_from_the_same_expected_stage_one_wins(org):
    # given
    deal = _open_deal(org)
    targets = [Stage.CONTACT, Stage.NEEDS, Stage.PROPOSAL, Stage.NEGOTIATION] * 2

    # when
    def move(i: int) -> str:
        from pipeline.services import deal_move

        deal_move(deal=deal, to_stage=targets[i], actor=org.alice, expected_stage=Stage.PREP)
        return f"moved:{targets[i]}"

    results = _race(move)

    # then: one winner, and the deal is where the winner put it, with one entry per rung it climbed
    winners = [r for r in results if r.startswith("moved")]
    assert len(winners) == 1, results
    assert results.count("conflict") == THREADS - 1
    won_target = winners[0].split(":")[1]
    fresh = Deal.objects.get(pk=deal.pk)
    assert fresh.stage == won_target
    climbed = Stage.values[: Stage.values.index(won_target) + 1]
    assert list(fresh.transitions.order_by("pk").values_list("to_stage", flat=True)) == climbed
    assert _replay(fresh) == (won_target, "open")


def test_moves_without_expected_stage_all_land_and_none_is_lost(org):
    # given
    deal = _open_deal(org)
    targets = [Stage.NEGOTIATION, Stage.CONTACT, Stage.PROPOSAL, Stage.PREP, Stage.NEEDS] + [Stage.CONTACT] * 3

    # when: everyone moves without checking where the deal is
    def move(i: int) -> str:
        from pipeline.services import deal_move

        moved = deal_move(deal=deal, to_stage=targets[i], actor=org.alice)
        return f"moved:{moved.stage}"

    results = _race(move)

    # then: every move ran on the stage the previous one left, so the history is one unbroken chain
    assert all(r.startswith("moved") for r in results), results
    fresh = Deal.objects.get(pk=deal.pk)
    assert _replay(fresh) == (fresh.stage, "open")
    # the last transition is the last move that changed something
    assert fresh.transitions.order_by("pk").last().to_stage == fresh.stage
