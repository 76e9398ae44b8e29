"""Scoped reads for lead intake and webhooks."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from pipeline.models import ImportJob, IntakeRecord, IntakeStatus, WebhookDelivery, WebhookSubscription
from salesladder.org.models import User
from salesladder.org.selectors import managed_team_ids


def intake_records_visible_to(*, user: User) -> QuerySet[IntakeRecord]:
    """Admins: all. Managers: records of their teams (incl. quarantined leads meant for them). Reps: leads they
    sent and leads that became their deals."""
    if not user.is_authenticated:
        return IntakeRecord.objects.none()
    qs = IntakeRecord.objects.select_related("deal", "team")
    if user.is_superuser:
        return qs
    q = Q(actor=user) | Q(deal__owner=user)
    teams = managed_team_ids(user=user)
    if teams:
        q |= Q(team_id__in=teams) | Q(deal__team_id__in=teams)
    return qs.filter(q)


def quarantine_visible_to(*, user: User) -> QuerySet[IntakeRecord]:
    """Quarantined leads (validation failed) the user may fix and re-run."""
    return intake_records_visible_to(user=user).filter(status=IntakeStatus.ERROR)


def import_jobs_visible_to(*, user: User) -> QuerySet[ImportJob]:
    """CSV import jobs: admins all, others their own. The uploaded file (``data``) is deferred."""
    if not user.is_authenticated:
        return ImportJob.objects.none()
    qs = ImportJob.objects.defer("data")
    return qs if user.is_superuser else qs.filter(created_by=user)


def webhook_subscriptions_visible_to(*, user: User) -> QuerySet[WebhookSubscription]:
    if not (user.is_authenticated and user.is_superuser):
        return WebhookSubscription.objects.none()
    return WebhookSubscription.objects.all()


def webhook_deliveries_of(*, subscription: WebhookSubscription) -> QuerySet[WebhookDelivery]:
    return WebhookDelivery.objects.filter(subscription=subscription).order_by("-created_at", "-pk")
