"""The CSV import task through a REAL Celery worker and broker (Redis): the job is picked up, its progress
moves through the chunks, and the leads land once. Needs SALESLADDER_TEST_BROKER_URL and PostgreSQL (the
worker process reads and writes the pytest test database); skipped locally without them, required in CI."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import quote

import pytest
from celery import Celery
from django.db import connection

from pipeline.imports import import_job_create
from pipeline.models import Deal, ImportJob, ImportStatus

ROOT = Path(__file__).resolve().parents[2]


def _database_url() -> str:
    db = connection.settings_dict
    user, password = quote(db["USER"] or ""), quote(db["PASSWORD"] or "")
    return f"postgres://{user}:{password}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


@pytest.mark.celery_worker
@pytest.mark.django_db(transaction=True)
def test_real_worker_runs_the_import_with_progress(org, tmp_path):  # type: ignore[no-untyped-def]
    broker = os.environ["SALESLADDER_TEST_BROKER_URL"]
    rows = "".join(f"fair,{i},Company {i},c{i}@company{i}.test\n" for i in range(450))
    job = import_job_create(
        filename="fair.csv", data=f"source,external_id,company,email\n{rows}".encode(), actor=org.manager
    )
    ImportJob.objects.filter(pk=job.pk).update(status=ImportStatus.QUEUED)
    queue = f"test-import-{uuid.uuid4().hex[:10]}"
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
    client = Celery("salesladder-test-client", broker=broker, backend=broker)
    seen: set[int] = set()
    try:
        result = client.send_task("pipeline.imports.lead_import_task", args=[job.pk], queue=queue)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            job.refresh_from_db()
            seen.add(job.processed)
            if job.is_finished:
                break
            time.sleep(0.05)
        status = result.get(timeout=30)
    finally:
        worker.terminate()
        try:
            worker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()
        log.close()
        client.close()

    assert status == ImportStatus.DONE, (tmp_path / "worker.log").read_text()[-3000:]
    assert (job.created_count, job.error_count, job.processed) == (450, 0, 450)
    assert Deal.objects.filter(source="fair").count() == 450
    assert seen <= {0, 200, 400, 450}  # progress moves chunk by chunk
