"""Thin Celery tasks for the pipeline: take ids, call one service."""

from __future__ import annotations

from celery import shared_task
from django.db import OperationalError
from django.utils import timezone

from pipeline.models import WebhookDeliveryStatus
from pipeline.services.idempotency import idempotency_keys_prune
from pipeline.services.webhooks import MAX_ATTEMPTS, retry_delay, webhook_deliver, webhook_deliveries_requeue


@shared_task(bind=True, acks_late=True, max_retries=MAX_ATTEMPTS, autoretry_for=(OperationalError,), retry_backoff=True)
def deliver_webhook(self, delivery_id: int) -> str:  # type: ignore[no-untyped-def]
    """Send one delivery; on failure retry with exponential backoff and jitter until MAX_ATTEMPTS attempts."""
    delivery = webhook_deliver(delivery_id=delivery_id)
    if self.request.is_eager:
        # No broker (`make run`): the attempt ran inside the request that caused the event, so one attempt
        # only (a slow receiver must not stall a deal move eight times over); a pending delivery is retried
        # by sending it again (admin) or by the requeue sweep where beat runs.
        return delivery.status
    if delivery.status == WebhookDeliveryStatus.PENDING:
        countdown = (
            max(int((delivery.next_attempt_at - timezone.now()).total_seconds()), 1)
            if delivery.next_attempt_at
            else retry_delay(delivery.attempts)
        )
        raise self.retry(countdown=countdown, max_retries=MAX_ATTEMPTS)
    return delivery.status


@shared_task(acks_late=True)
def requeue_orphaned_webhooks() -> int:
    """Every 10 minutes: queue again the pending deliveries whose retry task was lost with the broker."""
    ids = webhook_deliveries_requeue()
    for pk in ids:
        deliver_webhook.delay(pk)
    return len(ids)


@shared_task(acks_late=True)
def prune_idempotency_keys() -> int:
    """Hourly: forget Idempotency-Key answers older than 24 h."""
    return idempotency_keys_prune()


# The browser CSV import's task lives beside its service; imported here so the worker registers it.
from pipeline.imports import lead_import_task  # noqa: E402, F401
