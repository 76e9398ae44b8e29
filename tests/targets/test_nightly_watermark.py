"""A transaction still open when the nightly run reads its transition watermark may commit ids below it
afterwards (PostgreSQL assigns ids at INSERT, shows rows at COMMIT). The next run and the live figures
count those transitions; a run that could not see them is not "current"."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, transaction
from django.utils import timezone

from pipeline.models import Stage, StageTransition
from targets.models import FunnelSnapshot, NightlyRun
from targets.periods import Period
from targets.selectors import Scope, funnel
from targets.services import nightly_run, snapshots_compute
from targets.watermark import from_stats
from tests.factories import make_deal
from tests.targets.test_nightly import funnel_rows

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _entered(scope: Scope) -> list[int]:
    return [s.entered for s in funnel(scope=scope, period=Period.current()).stages]


def test_a_transaction_committing_below_the_watermark_is_counted_by_the_next_run_and_live(org):  # type: ignore[no-untyped-def]
    # given: last night's run, then an intake-like transaction that writes a deal and stays open
    today = timezone.localdate()
    make_deal(owner=org.alice, stage=Stage.CONTACT)
    nightly_run(run_date=today)
    written, release = threading.Event(), threading.Event()
    held: dict[str, int] = {}

    def hold_open() -> None:
        try:
            with transaction.atomic():
                held["deal"] = make_deal(owner=org.nina, stage=Stage.NEEDS).pk  # 3 transitions, ids taken now
                written.set()
                release.wait(20)
        finally:
            connection.close()

    thread = threading.Thread(target=hold_open)
    thread.start()
    assert written.wait(10)
    # a later transaction commits higher ids; the run reads its watermark while the first is still open
    make_deal(owner=org.bob, stage=Stage.PROPOSAL)
    stats = nightly_run(run_date=today)
    release.set()
    thread.join(20)
    late = list(StageTransition.objects.filter(deal_id=held["deal"]).values_list("pk", flat=True))
    assert len(late) == 3
    assert max(late) < stats["max_transition_id"]  # the ids lie below the watermark
    assert set(late) <= set(stats["transition_gaps"])  # ... and the run knows it did not see them
    org_scope, north = Scope.org(), Scope.for_team(org.east_north)

    # then: live figures count the late deal (last night's rows + what it did not see)
    assert _entered(north) == [1, 1, 1, 0, 0, 0]
    assert _entered(org_scope) == [3, 3, 2, 1, 0, 0]
    assert funnel(scope=org_scope, period=Period.current()).medians_as_of == today

    # and so does the next run (not skipped as "nothing new"), incrementally, equal to a full recompute
    again = nightly_run(run_date=today)
    assert "skipped" not in again
    assert again["periods"][Period.current().key] in ("incremental", "unchanged")
    incremental = funnel_rows(today)
    org_row = FunnelSnapshot.objects.get(scope_type="org", period=Period.current().key, as_of=today, stage="needs")
    assert org_row.entered == 2
    snapshots_compute(as_of=today, incremental=False)
    assert funnel_rows(today) == incremental
    assert from_stats(NightlyRun.objects.get(run_date=today).stats).gaps == ()


def test_without_open_transactions_the_watermark_has_no_gaps(org):  # type: ignore[no-untyped-def]
    make_deal(owner=org.alice, stage=Stage.NEEDS)
    stats = nightly_run(run_date=timezone.localdate())

    assert stats["transition_gaps"] == []
    assert stats["max_transition_id"] == StageTransition.objects.order_by("-pk").first().pk


def test_a_read_only_transaction_left_open_holds_no_ids(org):  # type: ignore[no-untyped-def]
    """A report or a backup reading in a long transaction takes no ids: the run's gaps stay known (and empty),
    so the next run builds on it."""
    opened, release = threading.Event(), threading.Event()

    def read_and_wait() -> None:
        try:
            with transaction.atomic():
                list(StageTransition.objects.values_list("pk", flat=True))
                opened.set()
                release.wait(20)
        finally:
            connection.close()

    thread = threading.Thread(target=read_and_wait)
    thread.start()
    try:
        assert opened.wait(10)
        make_deal(owner=org.alice, stage=Stage.NEEDS)
        first = nightly_run(run_date=timezone.localdate())
        make_deal(owner=org.bob, stage=Stage.CONTACT)
        second = nightly_run(run_date=timezone.localdate())
    finally:
        release.set()
        thread.join(20)

    assert first["transition_gaps"] == []
    assert second["periods"][Period.current().key] == "incremental"
