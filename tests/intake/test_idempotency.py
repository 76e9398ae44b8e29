"""Idempotency-Key on POST /api/v1/leads/."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from pipeline.models import Deal, IdempotencyKey, IdempotencyState
from pipeline.services.idempotency import idempotency_keys_prune, request_fingerprint
from pipeline.tasks import prune_idempotency_keys
from tests.intake.helpers import LEADS_URL, TokenClient, lead


def test_a_replayed_key_returns_the_stored_status_and_body_exactly(org):
    client = TokenClient(org.manager, team=org.east)
    batch = {"leads": [lead(1), lead(2, email="bad")]}
    first = client.post(batch, **{"Idempotency-Key": "order-42"})
    Deal.objects.update(amount=1)  # if the request ran again, both leads would now be "updated"

    second = client.post(batch, **{"Idempotency-Key": "order-42"})

    assert first.status_code == second.status_code == 201
    assert second.content == first.content
    assert second["Idempotent-Replayed"] == "true"
    assert Deal.objects.count() == 1


def test_the_same_key_with_a_different_body_is_422(org):
    client = TokenClient(org.manager, team=org.east)
    client.post(lead(1), **{"Idempotency-Key": "k1"})

    response = client.post(lead(2), **{"Idempotency-Key": "k1"})

    assert response.status_code == 422
    assert "idempotency_key" in response.json()["errors"]
    assert Deal.objects.count() == 1


def test_a_key_still_in_flight_is_409(org):
    client = TokenClient(org.manager, team=org.east)
    body = b'{"source": "webform", "external_id": "L-1", "company": "Acme"}'
    IdempotencyKey.objects.create(
        key="busy",
        owner=f"token:{client.token.pk}",
        fingerprint=request_fingerprint(method="POST", path=LEADS_URL, body=body),
        state=IdempotencyState.IN_FLIGHT,
    )

    response = client.post_raw(body, **{"Idempotency-Key": "busy"})

    assert response.status_code == 409
    assert Deal.objects.count() == 0


def test_an_abandoned_in_flight_key_is_taken_over(org):
    client = TokenClient(org.manager, team=org.east)
    body = b'{"source": "webform", "external_id": "L-1", "company": "Acme"}'
    IdempotencyKey.objects.create(
        key="crashed",
        owner=f"token:{client.token.pk}",
        fingerprint=request_fingerprint(method="POST", path=LEADS_URL, body=body),
        state=IdempotencyState.IN_FLIGHT,
        created_at=timezone.now() - timedelta(minutes=30),
    )

    response = client.post_raw(body, **{"Idempotency-Key": "crashed"})

    assert response.status_code == 201
    assert IdempotencyKey.objects.get(key="crashed").state == IdempotencyState.DONE


def test_keys_are_private_to_each_token(org):
    east = TokenClient(org.manager, team=org.east)
    west = TokenClient(org.mgr_west, team=org.west)
    east.post(lead(1), **{"Idempotency-Key": "same"})

    response = west.post(lead(2), **{"Idempotency-Key": "same"})

    assert response.status_code == 201
    assert Deal.objects.count() == 2


def test_errors_are_stored_too_and_replayed(org):
    client = TokenClient(org.manager, team=org.east)
    first = client.post_raw("{broken", **{"Idempotency-Key": "bad-json"})

    second = client.post_raw("{broken", **{"Idempotency-Key": "bad-json"})

    assert first.status_code == second.status_code == 400
    assert second.content == first.content


def test_an_oversize_batch_does_not_burn_the_key(org):
    client = TokenClient(org.manager, team=org.east)
    too_many = client.post({"leads": [lead(i) for i in range(1001)]}, **{"Idempotency-Key": "big"})

    assert too_many.status_code == 413
    assert not IdempotencyKey.objects.filter(key="big").exists()


def test_keys_older_than_24_hours_are_pruned(org):
    now = timezone.now()
    old = IdempotencyKey.objects.create(
        key="old", owner="user:1", fingerprint="x", state="done", created_at=now - timedelta(hours=25)
    )
    fresh = IdempotencyKey.objects.create(
        key="fresh", owner="user:1", fingerprint="x", state="done", created_at=now - timedelta(hours=23)
    )

    assert prune_idempotency_keys.delay().get() == 1
    assert idempotency_keys_prune() == 0
    assert list(IdempotencyKey.objects.values_list("pk", flat=True)) == [fresh.pk]
    assert not IdempotencyKey.objects.filter(pk=old.pk).exists()


def test_an_expired_key_is_reused_as_new(org):
    client = TokenClient(org.manager, team=org.east)
    client.post(lead(1), **{"Idempotency-Key": "reuse"})
    IdempotencyKey.objects.update(created_at=timezone.now() - timedelta(hours=25))

    response = client.post(lead(2), **{"Idempotency-Key": "reuse"})

    assert response.status_code == 201
    assert Deal.objects.count() == 2
