"""The nightly task through a REAL Celery worker and broker (Redis): enqueue, run, snapshots written.

Needs SALESLADDER_TEST_BROKER_URL and PostgreSQL (the worker, a separate process, reads and writes the
pytest test database). Without them: skipped locally, a failure in CI (see tests/conftest.py).
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from targets.models import FunnelSnapshot, NightlyRun
from targets.periods import Period, org_tz
from tests.targets.builders import DEFAULT_LADDER, ladder

ROOT = Path(__file__).resolve().parents[2]
PERIOD = Period.current().previous()


@pytest.mark.celery_worker
@pytest.mark.django_db(transaction=True)
def test_real_worker_runs_the_nightly_task(org, real_worker):  # type: ignore[no-untyped-def]
    ladder(
        owner=org.alice,
        team=org.east,
        counts=DEFAULT_LADDER,
        at=datetime.combine(PERIOD.start, datetime.min.time(), org_tz()) + timedelta(hours=10),
    )
    day = PERIOD.start + timedelta(days=5)
    stats = real_worker.send("targets.tasks.nightly_run_task", day.isoformat()).get(timeout=60)
    deadline = time.monotonic() + 10
    while not FunnelSnapshot.objects.filter(as_of=day).exists() and time.monotonic() < deadline:
        time.sleep(0.2)

    assert stats["run_date"] == day.isoformat(), real_worker.log_tail()
    alice = dict(
        FunnelSnapshot.objects.filter(
            scope_type="user", scope_id=org.alice.pk, period=PERIOD.key, as_of=day
        ).values_list("stage", "entered")
    )
    assert [alice[s] for s in ("prep", "contact", "needs", "proposal", "negotiation", "signing")] == DEFAULT_LADDER
    assert NightlyRun.objects.get(run_date=day).finished_at is not None
