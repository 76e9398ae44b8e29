"""Lead intake: the log/quarantine of received leads, idempotency keys and routing rules."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from pipeline.models.core import Deal


class IntakeStatus(models.TextChoices):
    CREATED = "created", _("Created")
    UPDATED = "updated", _("Updated")
    UNCHANGED = "unchanged", _("Unchanged")
    ERROR = "error", _("Error (quarantined)")


class IntakeRecord(models.Model):
    """One received lead that created or changed a deal, or failed validation.

    Records with status ``error`` are the quarantine: a manager fixes the fields and re-runs them.
    A replayed lead that changes nothing (``unchanged``) writes no record.
    """

    source = models.CharField(_("source"), max_length=60, blank=True)
    external_id = models.CharField(_("external id"), max_length=120, blank=True)
    # The lead as sent, kept for refused leads (to fix and re-run); accepted leads live on in their deal.
    payload = models.JSONField(_("payload"), default=dict, blank=True)
    status = models.CharField(_("status"), max_length=10, choices=IntakeStatus.choices)
    errors = models.JSONField(_("errors"), default=dict, blank=True)
    deal = models.ForeignKey(
        Deal, verbose_name=_("deal"), null=True, blank=True, on_delete=models.SET_NULL, related_name="intake_records"
    )
    batch_id = models.UUIDField(_("request"))
    index = models.PositiveIntegerField(_("position in request"), default=0)
    channel = models.CharField(_("channel"), max_length=10, default="intake")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("sent by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    # The team the lead was meant for (token team, routing rule or owner's team): managers see its quarantine.
    team = models.ForeignKey(
        "org.Team", verbose_name=_("team"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=1)
    created_at = models.DateTimeField(_("received"), default=timezone.now)
    processed_at = models.DateTimeField(_("processed"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("intake record")
        verbose_name_plural = _("intake records")
        indexes = [
            models.Index(fields=["status", "-created_at"]),
            models.Index(fields=["source", "external_id"]),
        ]

    def __str__(self) -> str:
        return f"{self.source}/{self.external_id} ({self.status})"


class IdempotencyState(models.TextChoices):
    IN_FLIGHT = "in_flight", _("In flight")
    DONE = "done", _("Done")


class IdempotencyKey(models.Model):
    """An ``Idempotency-Key`` seen from one caller, with the answer it got. Kept 24 h, pruned hourly."""

    key = models.CharField(_("key"), max_length=255)
    # "token:<id>" or "user:<id>": keys are private to the caller that sent them.
    owner = models.CharField(_("owner"), max_length=64)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    fingerprint = models.CharField(_("request fingerprint"), max_length=64)
    state = models.CharField(_("state"), max_length=10, choices=IdempotencyState.choices)
    response_status = models.PositiveSmallIntegerField(_("response status"), null=True, blank=True)
    response_body = models.TextField(_("response body"), blank=True)  # the exact JSON answered
    created_at = models.DateTimeField(_("created"), default=timezone.now, db_index=True)
    completed_at = models.DateTimeField(_("completed"), null=True, blank=True)

    class Meta:
        verbose_name = _("idempotency key")
        verbose_name_plural = _("idempotency keys")
        constraints = [models.UniqueConstraint(fields=["owner", "key"], name="idempotencykey_unique_owner_key")]

    def __str__(self) -> str:
        return f"{self.owner}:{self.key}"


class OwnerStrategy(models.TextChoices):
    ROUND_ROBIN = "round_robin", _("Round-robin among the team's reps")
    FIXED = "fixed", _("Always the same owner")


class RoutingRule(models.Model):
    """Leads from ``source`` go to ``team``, owned round-robin or by one fixed person."""

    source = models.CharField(_("source"), max_length=60, unique=True)
    team = models.ForeignKey("org.Team", verbose_name=_("team"), on_delete=models.CASCADE, related_name="+")
    strategy = models.CharField(
        _("owner strategy"), max_length=20, choices=OwnerStrategy.choices, default=OwnerStrategy.ROUND_ROBIN
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("fixed owner"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
    )
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["source"]
        verbose_name = _("routing rule")
        verbose_name_plural = _("routing rules")
        constraints = [
            models.CheckConstraint(
                condition=~Q(strategy="fixed") | Q(owner__isnull=False), name="routingrule_fixed_needs_owner"
            )
        ]

    def __str__(self) -> str:
        return f"{self.source} → {self.team}"


class RoundRobinCursor(models.Model):
    """Where the next round-robin assignment in a team starts. Updated under a row lock."""

    team = models.OneToOneField("org.Team", primary_key=True, on_delete=models.CASCADE, related_name="+")
    position = models.PositiveBigIntegerField(default=0)

    class Meta:
        verbose_name = _("round-robin cursor")
        verbose_name_plural = _("round-robin cursors")

    def __str__(self) -> str:
        return f"{self.team_id}@{self.position}"
