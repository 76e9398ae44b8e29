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
from targets.services import nightly_run, register_nightly_hook, snapshots_refresh
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
    calls: list[dict] = []  # type: ignore[type-arg]
    monkeypatch.setattr(services, "NIGHTLY_HOOKS", [])
    register_nightly_hook(lambda **kw: calls.append(kw) or "ok")
    quiet = make_deal(owner=org.alice, at=timezone.now() - timedelta(days=20))  # prep: stale after 14 days
    today = org_today()

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


def test_the_beat_refreshes_todays_snapshots_every_few_minutes() -> None:
    entry = settings.CELERY_BEAT_SCHEDULE["targets-refresh"]

    assert entry["task"] == "targets.tasks.snapshots_refresh_task"
    assert entry["schedule"].minute == set(range(0, 60, settings.SALESLADDER_SNAPSHOT_REFRESH_MINUTES))
