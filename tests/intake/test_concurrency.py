"""Racing identical posts on PostgreSQL, with real threads and real transactions."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from pipeline.models import Deal, IdempotencyKey, StageTransition
from tests.intake.helpers import TokenClient, lead

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def race(threads: int, work) -> list:
    barrier = threading.Barrier(threads)
    results: list = [None] * threads
    errors: list[BaseException] = []

    def run(i: int) -> None:
        try:
            barrier.wait(timeout=10)
            results[i] = work(i)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connection.close()

    pool = [threading.Thread(target=run, args=(i,)) for i in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join(timeout=60)
    assert not errors, errors
    return results


def test_the_same_lead_posted_by_8_threads_makes_one_deal(org):
    clients = [TokenClient(org.manager, team=org.east) for _ in range(8)]

    responses = race(8, lambda i: clients[i].post(lead(1)))

    assert all(r.status_code in (200, 201) for r in responses)
    statuses = sorted(r.json()["results"][0]["status"] for r in responses)
    assert statuses == ["created"] + ["unchanged"] * 7
    assert len({r.json()["results"][0]["deal"] for r in responses}) == 1
    assert Deal.objects.count() == 1
    assert StageTransition.objects.count() == 1


def test_overlapping_batches_in_parallel_make_each_deal_once(org):
    clients = [TokenClient(org.manager, team=org.east) for _ in range(4)]
    # each thread sends leads 0-59 in a different order plus a few of its own
    batches = [
        {"leads": [lead(n) for n in (range(60) if i % 2 else reversed(range(60)))] + [lead(1000 + i)]} for i in range(4)
    ]

    responses = race(4, lambda i: clients[i].post(batches[i]))

    assert all(r.status_code in (200, 201) for r in responses)
    assert all(r.json()["totals"]["error"] == 0 for r in responses)
    assert Deal.objects.count() == 64
    created = sum(r.json()["totals"]["created"] for r in responses)
    assert created == 64


def test_concurrent_requests_with_one_idempotency_key_run_once(org):
    client = TokenClient(org.manager, team=org.east)
    body = {"leads": [lead(n) for n in range(50)]}

    responses = race(6, lambda i: client.post(body, **{"Idempotency-Key": "batch-7"}))

    codes = sorted(r.status_code for r in responses)
    assert set(codes) <= {201, 409}
    assert 201 in codes
    assert Deal.objects.count() == 50
    assert IdempotencyKey.objects.get(key="batch-7").state == "done"
