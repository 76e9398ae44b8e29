"""Racing identical posts on PostgreSQL, with real threads and real transactions."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from pipeline.models import Account, Contact, Deal, IdempotencyKey, StageTransition
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


class _Held:
    """Holds the first request that reaches ``deals_bulk_create`` inside its open transaction until released."""

    def __init__(self, monkeypatch) -> None:
        from pipeline.services import intake

        self.entered = threading.Event()
        self.release = threading.Event()
        self.holder: threading.Thread | None = None
        real = intake.deals_bulk_create
        lock = threading.Lock()

        def held(**kwargs):
            with lock:
                first = self.holder is None
                if first:
                    self.holder = threading.current_thread()
            if first:
                self.entered.set()
                self.release.wait(timeout=30)
            return real(**kwargs)

        monkeypatch.setattr(intake, "deals_bulk_create", held)

    def run_first(self, work) -> tuple[threading.Thread, list]:
        out: list = []

        def run() -> None:
            try:
                out.append(work())
            finally:
                connection.close()

        thread = threading.Thread(target=run)
        thread.start()
        assert self.entered.wait(timeout=20), "the first request never reached the write"
        return thread, out


def test_a_batch_of_the_same_team_does_not_wait_for_one_still_being_written(org, monkeypatch):
    held = _Held(monkeypatch)
    first_client, second_client = TokenClient(org.manager, team=org.east), TokenClient(org.manager, team=org.east)
    thread, first = held.run_first(lambda: first_client.post({"leads": [lead(1), lead(2)]}))
    try:
        second = second_client.post({"leads": [lead(3), lead(4)]})  # would block on the round-robin cursor
        assert second.status_code == 201
        assert thread.is_alive()  # the first batch is still open: the second did not wait for it
    finally:
        held.release.set()
        thread.join(timeout=30)
    assert first[0].status_code == 201
    owners = list(Deal.objects.order_by("external_id").values_list("external_id", "owner__username"))
    # each batch drew its own turns: together they go round the team's two reps evenly
    assert sorted(username for _e, username in owners) == ["alice", "alice", "bob", "bob"]


def test_parallel_batches_with_the_same_new_company_share_one_account(org, monkeypatch):
    held = _Held(monkeypatch)
    first_client, second_client = TokenClient(org.manager, team=org.east), TokenClient(org.manager, team=org.east)
    thread, first = held.run_first(
        lambda: first_client.post(lead(1, company="Zhongshan Valves Co., Ltd.", email="li@zsvalves.example"))
    )
    try:
        second = second_client.post(lead(2, company="ZHONGSHAN VALVES CO LTD", email="wu@zsvalves.example"))
        assert second.status_code == 201
        assert thread.is_alive()  # the account was committed ahead: the second batch found it without waiting
    finally:
        held.release.set()
        thread.join(timeout=30)
    assert first[0].status_code == 201
    assert Account.objects.count() == 1
    assert set(Deal.objects.values_list("account__name", flat=True)) == {"Zhongshan Valves Co., Ltd."}
    assert Contact.objects.filter(account__isnull=False).count() == 2
