"""The nightly report of observed win rates per rung (SPEC §1): stored with the night's run, logged,
printed by run_nightly, run by its own beat task after the snapshots."""

from __future__ import annotations

import logging
from datetime import timedelta
from io import StringIO

import pytest
from django.conf import settings
from django.core.management import call_command

from pipeline.models import Stage, StageConfig
from pipeline.services import deal_lose
from targets.calibration import stage_win_rates_report
from targets.models import NightlyRun
from targets.periods import org_today
from targets.tasks import stage_win_rates_task
from tests.factories import lost_reason, make_deal

pytestmark = pytest.mark.django_db


@pytest.fixture
def history(org):
    """Three won deals (every rung reached) and one lost at prep: prep observes 3/4 = 75 %, every later
    rung 100 % — against the default 5/10/20/40/60/100 %, all but signing drift."""
    for _n in range(3):
        make_deal(owner=org.alice, stage=Stage.SIGNING)
    deal_lose(deal=make_deal(owner=org.bob), reason=lost_reason("price"), actor=org.bob)


def test_the_report_is_stored_with_the_nights_run_and_drift_is_logged(history, caplog):
    day = org_today()
    call_command("run_nightly", verbosity=0, stdout=StringIO())
    caplog.set_level(logging.INFO, logger="targets.calibration")
    caplog.clear()  # run_nightly reported once already

    report = stage_win_rates_report(run_date=day)

    stored = NightlyRun.objects.get(run_date=day).stats["stage_win_rates"]
    assert stored == report
    by_stage = {r["stage"]: r for r in stored["stages"]}
    assert (by_stage["prep"]["observed"], by_stage["prep"]["closed_sample"]) == (0.75, 4)
    assert stored["drifted"] == ["prep", "contact", "needs", "proposal", "negotiation"]
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any(m.startswith("stage prep: observed win rate 75.0 % over 4 closed deals") for m in warnings)
    assert len(warnings) == 5


def test_the_report_outlives_a_later_run_of_the_same_night(history, org):
    from targets.services import nightly_run

    day = org_today()
    nightly_run(run_date=day)
    report = stage_win_rates_report(run_date=day)
    make_deal(owner=org.alice, stage=Stage.CONTACT)  # something new: the day's run recomputes

    again = nightly_run(run_date=day)

    assert "skipped" not in again
    assert NightlyRun.objects.get(run_date=day).stats["stage_win_rates"] == report


def test_run_nightly_prints_the_drifted_rungs_or_says_all_is_in_line(history):
    out = StringIO()
    call_command("run_nightly", stdout=out)
    assert "observed win rates drifted: prep 75 % observed vs 5 %; contact 100 % observed vs 10 %" in out.getvalue()

    StageConfig.objects.filter(stage=Stage.PREP).update(probability=75)
    StageConfig.objects.exclude(stage=Stage.PREP).update(probability=100)
    out = StringIO()
    call_command("run_nightly", stdout=out)
    assert "observed win rates are in line with the configured probabilities" in out.getvalue()


def test_the_beat_task_runs_after_the_snapshots_for_the_day_that_ended(history):
    entry = settings.CELERY_BEAT_SCHEDULE["targets-stage-win-rates"]
    assert entry["task"] == "targets.tasks.stage_win_rates_task"
    assert (entry["schedule"].hour, entry["schedule"].minute) == ({1}, {30})
    yesterday = org_today() - timedelta(days=1)
    call_command("run_nightly", "--date", yesterday.isoformat(), verbosity=0, stdout=StringIO())
    NightlyRun.objects.filter(run_date=yesterday).update(stats={"kept": True})

    report = stage_win_rates_task.apply().get()

    stats = NightlyRun.objects.get(run_date=yesterday).stats
    assert stats["kept"] is True  # the night's own figures stay
    assert (
        stats["stage_win_rates"]["drifted"]
        == report["drifted"]
        == ["prep", "contact", "needs", "proposal", "negotiation"]
    )
