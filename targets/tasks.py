"""Thin Celery tasks of the targets app: take plain values, call one service (idempotent upserts)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from celery import shared_task
from django.db import OperationalError

from targets.calibration import stage_win_rates_report
from targets.periods import org_today
from targets.services import nightly_run, snapshots_refresh


@shared_task(
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    retry_backoff_max=600,
    max_retries=5,
)
def nightly_run_task(self, run_date: str | None = None) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """Beat passes nothing at 01:00 org time: the day that just ended (yesterday, org time) is used."""
    day = date.fromisoformat(run_date) if run_date else org_today() - timedelta(days=1)
    return nightly_run(run_date=day)


@shared_task(acks_late=True, reject_on_worker_lost=True, autoretry_for=(OperationalError,), retry_backoff=True)
def snapshots_refresh_task() -> dict[str, Any]:
    """Beat every ``SALESLADDER_SNAPSHOT_REFRESH_MINUTES``: today's snapshots so far, for live reads to build
    on (an incremental run; a second fire with nothing new skips)."""
    return snapshots_refresh()


@shared_task(acks_late=True, reject_on_worker_lost=True, autoretry_for=(OperationalError,), retry_backoff=True)
def stage_win_rates_task(run_date: str | None = None) -> dict[str, Any]:
    """Beat at 01:30 org time, after the snapshots: the day that just ended, as ``nightly_run_task``."""
    day = date.fromisoformat(run_date) if run_date else org_today() - timedelta(days=1)
    return stage_win_rates_report(run_date=day)
