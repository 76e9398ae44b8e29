"""The CSV import task through a REAL Celery worker and broker (Redis): the job is picked up, its progress
moves through the chunks, and the leads land once. Needs SALESLADDER_TEST_BROKER_URL and PostgreSQL (the
worker process reads and writes the pytest test database); skipped locally without them, required in CI."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from pipeline.imports import import_job_create
from pipeline.models import Deal, ImportJob, ImportStatus

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.celery_worker
@pytest.mark.django_db(transaction=True)
def test_real_worker_runs_the_import_with_progress(org, real_worker):  # type: ignore[no-untyped-def]
    rows = "".join(f"fair,{i},Company {i},c{i}@company{i}.test\n" for i in range(450))
    job = import_job_create(
        filename="fair.csv", data=f"source,external_id,company,email\n{rows}".encode(), actor=org.manager
    )
    ImportJob.objects.filter(pk=job.pk).update(status=ImportStatus.QUEUED)
    seen: set[int] = set()
    result = real_worker.send("pipeline.imports.lead_import_task", job.pk)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        job.refresh_from_db()
        seen.add(job.processed)
        if job.is_finished:
            break
        time.sleep(0.05)
    status = result.get(timeout=30)

    assert status == ImportStatus.DONE, real_worker.log_tail()
    assert (job.created_count, job.error_count, job.processed) == (450, 0, 450)
    assert Deal.objects.filter(source="fair").count() == 450
    assert seen <= {0, 200, 400, 450}  # progress moves chunk by chunk
