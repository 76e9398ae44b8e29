"""Refreshing today's snapshots during the day (``snapshots_refresh``, beat every
SALESLADDER_SNAPSHOT_REFRESH_MINUTES): live reads then build on a snapshot minutes old, not on last night's
plus the whole day's changes; the refresh leaves the stale flags and the period-end hooks to the nightly
run of the day once it has ended, which must not skip the day's last refresh."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from pipeline.models import Deal, Stage
from pipeline.services import deal_move
from targets import services
from targets.models import FunnelSnapshot, NightlyRun
from targets.periods import Period, org_today
from targets.selectors import Scope, attainment, funnel
from targets.selectors.funnel import latest_base
from targets.services import nightly_run, register_nightly_hook, snapshot_periods, snapshots_refresh
from targets.tasks import snapshots_refresh_task
from tests.factories import make_deal


def _figures(scope: Scope, period: Period) -> tuple[list[int], list[int], list[tuple]]:  # type: ignore[type-arg]
    result = funnel(scope=scope, period=period)
    rows = attainment(scope=scope, period=period).rows
    return (
        [s.entered for s in result.stages],
        [s.cohort_reached for s in result.stages],
        sorted((r.user or 0, r.stage, r.entered) for r in rows),
    )


@pytest.mark.django_db
def test_live_reads_build_on_todays_refresh_and_answer_as_before(org):  # type: ignore[no-untyped-def]
    today = org_today()
    period = Period.containing(today)
    deal = make_deal(owner=org.alice)
    nightly_run(run_date=today - timedelta(days=1))
    deal_move(deal=deal, to_stage=Stage.CONTACT, actor=org.alice)  # today's activity
    make_deal(owner=org.nina)
    team = Scope.for_team(org.east)
    before = _figures(team, period), _figures(Scope.for_user(org.alice), period)

    stats = snapshots_refresh()

    assert stats["refresh"] is True
    assert latest_base(period=period, as_of=today).as_of == today  # live reads now start from it
    assert FunnelSnapshot.objects.filter(as_of=today, period=period.key).exists()
    assert (_figures(team, period), _figures(Scope.for_user(org.alice), period)) == before
    assert before[0][0][:2] == [2, 1]  # two deals entered prep, one contact: today's activity counted


@pytest.mark.django_db
def test_a_refresh_leaves_stale_flags_and_hooks_to_the_nightly_run(org, monkeypatch):  # type: ignore[no-untyped-def]
    today = org_today()
    nightly_run(run_date=today - timedelta(days=1))
    calls: list[dict] = []  # type: ignore[type-arg]
    monkeypatch.setattr(services, "NIGHTLY_HOOKS", [])
    register_nightly_hook(lambda **kw: calls.append(kw) or "ok")
    quiet = make_deal(owner=org.alice, at=timezone.now() - timedelta(days=20))  # prep: stale after 14 days

    snapshots_refresh()
    again = snapshots_refresh_task.delay().get()  # the beat's task; nothing new since: skipped

    assert not Deal.objects.get(pk=quiet.pk).is_stale
    assert calls == []
    assert again.get("skipped") is True

    # the day's nightly run does not take the refresh for "nothing new": it flags and runs the hooks
    stats = nightly_run(run_date=today)

    assert not stats.get("skipped")
    assert stats["stale_changed"] == 1
    assert Deal.objects.get(pk=quiet.pk).is_stale
    assert [c["run_date"] for c in calls] == [today]
    assert NightlyRun.objects.get(run_date=today).stats["refresh"] is False


@pytest.mark.django_db
def test_todays_refreshes_wait_for_yesterdays_nightly_run(org):  # type: ignore[no-untyped-def]
    # between midnight and the nightly run of the day that ended, refreshing today would start a second
    # chain of runs beside yesterday's (shared stays check and closed-deal ledger): the refresh waits
    today, yesterday = org_today(), org_today() - timedelta(days=1)
    make_deal(owner=org.alice)
    nightly_run(run_date=yesterday, refresh=True)  # yesterday's last refresh (the beat, before midnight)

    waiting = snapshots_refresh()

    assert waiting == {"skipped": True, "refresh": True, "waiting_for": yesterday.isoformat()}
    assert not NightlyRun.objects.filter(run_date=today).exists()

    nightly_run(run_date=yesterday)  # 01:00: the day that ended
    make_deal(owner=org.nina)

    stats = snapshots_refresh()

    # one chain: it builds on yesterday's nightly run, whose closed-deal ledger it continues (the periods
    # both days snapshot; on the first of a month the new one starts from scratch)
    both = [p.key for p in snapshot_periods(today) if p in snapshot_periods(yesterday)]
    assert not stats.get("skipped")
    assert both
    assert all(stats["outcomes"][key] == "incremental" for key in both)
    assert all(stats["periods"][key] in ("incremental", "unchanged") for key in both)


def test_the_beat_refreshes_todays_snapshots_every_few_minutes_off_the_hour() -> None:
    minutes = settings.SALESLADDER_SNAPSHOT_REFRESH_MINUTES
    if not minutes:  # turned off: no entry
        assert "targets-refresh" not in settings.CELERY_BEAT_SCHEDULE
        return
    entry = settings.CELERY_BEAT_SCHEDULE["targets-refresh"]

    assert entry["task"] == "targets.tasks.snapshots_refresh_task"
    assert entry["schedule"].minute == set(range(7 % minutes, 60, minutes))
    assert 0 not in entry["schedule"].minute or minutes == 1  # not at 01:00 beside the nightly run
