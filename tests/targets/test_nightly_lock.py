"""Nightly runs of different days take turns: they share the open-deal and closed-deal ledgers, and two runs
adding their deltas from the same ledger rows at once would count them twice."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from pipeline.models import Stage
from targets import nightly_ledger
from targets.models import NightlyOpenTotal, NightlyRun
from targets.services import nightly_run
from tests.factories import make_deal

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _totals() -> list[tuple[int, int | None, str, int, int, int]]:
    rows = NightlyOpenTotal.objects.values_list("owner_id", "team_id", "month", "units", "deals", "stale")
    return sorted(rows)


def test_a_run_for_another_day_waits_until_the_running_one_has_committed(org):  # type: ignore[no-untyped-def]
    today = timezone.localdate()
    make_deal(owner=org.alice, stage=Stage.CONTACT, amount=1000)
    nightly_run(run_date=today - timedelta(days=2))
    make_deal(owner=org.bob, stage=Stage.NEEDS, amount=500)
    inside, release = threading.Event(), threading.Event()
    finished: list[str] = []

    def first_run() -> None:
        def pause(step: str) -> None:
            if step == "stale flags":  # inside the run's transaction, before the ledgers are read
                inside.set()
                release.wait(20)

        try:
            nightly_run(run_date=today - timedelta(days=1), progress=pause)
            finished.append("yesterday")
        finally:
            connection.close()

    def second_run() -> None:
        try:
            nightly_run(run_date=today)
            finished.append("today")
        finally:
            connection.close()

    first = threading.Thread(target=first_run)
    first.start()
    assert inside.wait(10)
    second = threading.Thread(target=second_run)
    second.start()
    second.join(1.0)
    assert finished == []  # today's run waits for yesterday's, which is still open
    release.set()
    first.join(20)
    second.join(20)

    assert finished == ["yesterday", "today"]
    assert set(NightlyRun.objects.values_list("run_date", flat=True)) >= {today - timedelta(days=1), today}
    # the ledger's totals are what a rebuild from the deals gives (nothing counted twice)
    kept = _totals()
    nightly_ledger.rebuild()
    assert kept == _totals()
    assert sum(deals for *_k, deals, _s in kept) == 2
