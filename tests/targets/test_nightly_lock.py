"""Nightly runs of different days take turns: they share the open-deal and closed-deal ledgers, and two runs
adding their deltas from the same ledger rows at once would count them twice."""

from __future__ import annotations

import threading
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.utils import timezone

from pipeline.models import Deal, Stage, StageTransition
from targets import nightly_ledger
from targets.models import FunnelSnapshot, NightlyOpenTotal, NightlyRun
from targets.periods import Period
from targets.services import nightly_run
from tests.factories import make_deal
from tests.targets.test_nightly_incremental import assert_incremental_equals_full

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


def test_a_deal_committed_while_a_run_works_is_counted_once(org):  # type: ignore[no-untyped-def]
    """The run reads one snapshot of the data, taken when it records its watermark: a deal committed while
    it works is left to the next run, which counts it once (it used to be seen by the run's later
    statements and then counted again as new to it)."""
    today = timezone.localdate()
    make_deal(owner=org.alice, stage=Stage.CONTACT)
    nightly_run(run_date=today - timedelta(days=1))
    inside, release = threading.Event(), threading.Event()

    def paused_run() -> None:
        def pause(step: str) -> None:
            if step == "stale flags":  # watermark taken, snapshots not computed yet
                inside.set()
                release.wait(20)

        try:
            nightly_run(run_date=today, progress=pause)
        finally:
            connection.close()

    thread = threading.Thread(target=paused_run)
    thread.start()
    assert inside.wait(10)
    make_deal(owner=org.bob, stage=Stage.NEEDS)  # commits while the run is inside its transaction
    release.set()
    thread.join(20)

    stats = assert_incremental_equals_full(today)
    assert stats["periods"][Period.current().key] == "incremental"
    org_row = FunnelSnapshot.objects.get(scope_type="org", period=Period.current().key, as_of=today, stage="prep")
    assert org_row.entered == 2


def test_a_run_starts_over_when_a_deal_it_flags_changed_under_its_snapshot(org, monkeypatch, caplog):  # type: ignore[no-untyped-def]
    """The run's snapshot is older than an edit committed while it works: flagging that deal is refused by
    PostgreSQL (could not serialize), and the run starts over on a fresh snapshot instead of failing."""
    from targets import services

    today = timezone.localdate()
    quiet = make_deal(owner=org.alice, at=timezone.now() - timedelta(days=30))  # prep: stale after 14 days
    original = services.stale_flags_update
    inside, release = threading.Event(), threading.Event()
    calls: list[int] = []

    def paused_flags(**kwargs):  # type: ignore[no-untyped-def]
        calls.append(1)
        if len(calls) == 1:  # the first attempt: snapshot taken, the deal not flagged yet
            inside.set()
            release.wait(20)
        return original(**kwargs)

    monkeypatch.setattr(services, "stale_flags_update", paused_flags)
    result: dict = {}

    def run() -> None:
        try:
            result["stats"] = nightly_run(run_date=today)
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    assert inside.wait(10)
    Deal.objects.filter(pk=quiet.pk).update(amount=Decimal("10.00"))  # committed after the run's snapshot
    release.set()
    thread.join(30)

    assert len(calls) == 2  # started over once
    assert result["stats"]["stale_changed"] == 1
    assert Deal.objects.get(pk=quiet.pk).is_stale
    assert "starting over" in caplog.text


def test_a_writer_open_at_the_snapshot_that_commits_before_the_watermark_is_counted_by_the_next_run(org, monkeypatch):  # type: ignore[no-untyped-def]
    """The run reads the id sequence and the sessions still writing BEFORE its snapshot: a transaction open
    when the snapshot was taken, committed before the run looked at its watermark, is not in the snapshot
    and must be a gap of the watermark (counted by the next run), not taken for settled and seen."""
    from targets import services

    today = timezone.localdate()
    make_deal(owner=org.alice, stage=Stage.CONTACT)
    nightly_run(run_date=today - timedelta(days=1))
    written, commit_now = threading.Event(), threading.Event()
    held: dict[str, int] = {}

    def writer() -> None:
        try:
            with transaction.atomic():
                held["deal"] = make_deal(owner=org.nina, stage=Stage.NEEDS).pk
                written.set()
                commit_now.wait(20)
        finally:
            connection.close()

    original = services.watermark.capture
    in_snapshot, go_on = threading.Event(), threading.Event()

    def paused_capture(*args, **kwargs):  # type: ignore[no-untyped-def]
        in_snapshot.set()  # the run's snapshot is taken (by its first statement), the watermark not yet
        go_on.wait(20)
        return original(*args, **kwargs)

    monkeypatch.setattr(services.watermark, "capture", paused_capture)
    writing = threading.Thread(target=writer)
    writing.start()
    assert written.wait(10)
    make_deal(owner=org.bob, stage=Stage.PROPOSAL)  # higher ids, committed: the watermark lies above the writer's

    def run() -> None:
        try:
            nightly_run(run_date=today)
        finally:
            connection.close()

    running = threading.Thread(target=run)
    running.start()
    assert in_snapshot.wait(10)
    commit_now.set()
    writing.join(20)  # the writer has committed: no longer a session that may hold ids
    go_on.set()
    running.join(30)
    monkeypatch.setattr(services.watermark, "capture", original)

    first = NightlyRun.objects.get(run_date=today).stats
    late = set(StageTransition.objects.filter(deal_id=held["deal"]).values_list("pk", flat=True))
    assert late <= set(first["transition_gaps"])  # not seen by the run, and it knows
    assert_incremental_equals_full(today)
    needs = FunnelSnapshot.objects.get(scope_type="org", period=Period.current().key, as_of=today, stage="needs")
    assert needs.entered == 2  # bob's deal and nina's, each counted once


def test_a_run_with_autocommit_off_outside_any_atomic_block_keeps_that_transaction(org):  # type: ignore[no-untyped-def]
    """Autocommit off means a transaction is already open (the run's readings open it): the run must not
    try to set its isolation level then (PostgreSQL refuses it after a query), and works in that one."""
    make_deal(owner=org.alice, stage=Stage.CONTACT)
    transaction.set_autocommit(False)
    try:
        stats = nightly_run(run_date=timezone.localdate())
        transaction.commit()
    finally:
        transaction.set_autocommit(True)
    assert stats["full"] is True
    assert NightlyRun.objects.filter(run_date=timezone.localdate(), finished_at__isnull=False).exists()
