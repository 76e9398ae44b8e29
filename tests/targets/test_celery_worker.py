"""The nightly task through a REAL Celery worker and broker (Redis): enqueue, run, snapshots written.

Needs SALESLADDER_TEST_BROKER_URL and PostgreSQL (the worker, a separate process, reads and writes the
pytest test database). Without them: skipped locally, a failure in CI (see tests/conftest.py).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import quote

import pytest
from celery import Celery
from django.db import connection

from targets.models import FunnelSnapshot, NightlyRun
from targets.periods import Period, org_tz
from tests.targets.builders import DEFAULT_LADDER, ladder

ROOT = Path(__file__).resolve().parents[2]
PERIOD = Period.current().previous()


def _database_url() -> str:
    db = connection.settings_dict
    user, password = quote(db["USER"] or ""), quote(db["PASSWORD"] or "")
    return f"postgres://{user}:{password}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


@pytest.mark.celery_worker
@pytest.mark.django_db(transaction=True)
def test_real_worker_runs_the_nightly_task(org, tmp_path):  # type: ignore[no-untyped-def]
    broker = os.environ["SALESLADDER_TEST_BROKER_URL"]
    ladder(
        owner=org.alice,
        team=org.east,
        counts=DEFAULT_LADDER,
        at=datetime.combine(PERIOD.start, datetime.min.time(), org_tz()) + timedelta(hours=10),
    )
    day = PERIOD.start + timedelta(days=5)
    queue = f"test-nightly-{uuid.uuid4().hex[:10]}"
    env = {
        **os.environ,
        "DATABASE_URL": _database_url(),
        "CELERY_BROKER_URL": broker,
        "CELERY_RESULT_BACKEND": broker,
        "CELERY_TASK_ALWAYS_EAGER": "false",
        "DJANGO_DEBUG": os.environ.get("DJANGO_DEBUG", "true"),
    }
    log = (tmp_path / "worker.log").open("w")
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "salesladder",
            "worker",
            "--pool=solo",
            "-Q",
            queue,
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "--loglevel=INFO",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    # A separate client app: the project's app keeps its eager default for every other test.
    client = Celery("salesladder-test-client", broker=broker, backend=broker)
    try:
        result = client.send_task("targets.tasks.nightly_run_task", args=[day.isoformat()], queue=queue)
        stats = result.get(timeout=60)
        deadline = time.monotonic() + 10
        while not FunnelSnapshot.objects.filter(as_of=day).exists() and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        worker.terminate()
        try:
            worker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()
        log.close()
        client.close()

    assert stats["run_date"] == day.isoformat(), (tmp_path / "worker.log").read_text()[-3000:]
    alice = dict(
        FunnelSnapshot.objects.filter(
            scope_type="user", scope_id=org.alice.pk, period=PERIOD.key, as_of=day
        ).values_list("stage", "entered")
    )
    assert [alice[s] for s in ("prep", "contact", "needs", "proposal", "negotiation", "signing")] == DEFAULT_LADDER
    assert NightlyRun.objects.get(run_date=day).finished_at is not None
