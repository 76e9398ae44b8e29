"""Review cycles, reviews with their frozen scorecards, and action items.

A review moves ``draft → shared → acknowledged → closed`` (see ``reviews.services``). The scorecard is
frozen JSON carrying its own ``schema_version`` so reviews written years ago keep rendering.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from salesladder.errors import DomainError
from targets.models import PERIOD_KEY_MAX
from targets.periods import Period


class CycleKind(models.TextChoices):
    """How often a team is reviewed. The values are ``targets.periods.PeriodKind`` values."""

    MONTH = "month", _("Monthly")
    QUARTER = "quarter", _("Quarterly")


class ReviewStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    SHARED = "shared", _("Shared")
    ACKNOWLEDGED = "acknowledged", _("Acknowledged")
    CLOSED = "closed", _("Closed")


class ReviewCycle(models.Model):
    team = models.ForeignKey("org.Team", verbose_name=_("team"), on_delete=models.CASCADE, related_name="review_cycles")
    kind = models.CharField(_("frequency"), max_length=10, choices=CycleKind.choices, default=CycleKind.MONTH)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        ordering = ["team__name", "kind"]
        verbose_name = _("review cycle")
        verbose_name_plural = _("review cycles")
        constraints = [models.UniqueConstraint(fields=["team", "kind"], name="reviewcycle_unique_team_kind")]

    def __str__(self) -> str:
        return f"{self.team} — {self.get_kind_display()}"


class Review(models.Model):
    cycle = models.ForeignKey(ReviewCycle, verbose_name=_("cycle"), on_delete=models.PROTECT, related_name="reviews")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("rep"), on_delete=models.CASCADE, related_name="reviews"
    )
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("reviewer"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="reviews_written",
    )
    period = models.CharField(_("period"), max_length=PERIOD_KEY_MAX, db_index=True)
    status = models.CharField(_("status"), max_length=15, choices=ReviewStatus.choices, default=ReviewStatus.DRAFT)
    scorecard = models.JSONField(_("scorecard"), default=dict, blank=True)
    rating = models.PositiveSmallIntegerField(_("rating"), null=True, blank=True, help_text=_("1 (low) to 5 (high)."))
    strengths = models.TextField(_("strengths"), blank=True)
    improvements = models.TextField(_("areas to improve"), blank=True)
    manager_comment = models.TextField(_("manager's comment"), blank=True)
    rep_comment = models.TextField(_("rep's comment"), blank=True)
    shared_at = models.DateTimeField(_("shared"), null=True, blank=True)
    acknowledged_at = models.DateTimeField(_("acknowledged"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)
    touched_by_human = models.BooleanField(
        _("edited by a person"),
        default=False,
        help_text=_("Set on the first edit by a person; the nightly job never rewrites such a review."),
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    history = HistoricalRecords(excluded_fields=["updated_at"])

    class Meta:
        ordering = ["-period", "user__username", "pk"]
        verbose_name = _("review")
        verbose_name_plural = _("reviews")
        constraints = [
            models.UniqueConstraint(fields=["user", "period", "cycle"], name="review_unique_user_period_cycle"),
            models.CheckConstraint(
                condition=Q(rating__isnull=True) | Q(rating__gte=1, rating__lte=5), name="review_rating_1_to_5"
            ),
        ]
        indexes = [models.Index(fields=["cycle", "period", "status"])]

    def __str__(self) -> str:
        return f"{self.user} — {self.period}"

    def clean(self) -> None:
        """Forms (the admin) must name a real period: "2026-13" is refused with the API's message."""
        try:
            self.period = Period.parse(self.period).key
        except DomainError as exc:
            raise ValidationError({"period": exc.errors["period"]}) from exc


class ActionItem(models.Model):
    """Something the rep agreed to do. Open items are carried into the rep's next review (``carried_from``)."""

    review = models.ForeignKey(Review, verbose_name=_("review"), on_delete=models.CASCADE, related_name="action_items")
    text = models.CharField(_("action"), max_length=500)
    due_date = models.DateField(_("due"), null=True, blank=True)
    done_at = models.DateTimeField(_("done"), null=True, blank=True)
    is_overdue = models.BooleanField(_("overdue"), default=False, help_text=_("Set by the nightly job."))
    carried_from = models.ForeignKey(
        "self",
        verbose_name=_("carried over from"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="carried_to",
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    history = HistoricalRecords(excluded_fields=["updated_at"])

    class Meta:
        ordering = ["due_date", "pk"]
        verbose_name = _("action item")
        verbose_name_plural = _("action items")
        indexes = [
            models.Index(fields=["due_date"], name="actionitem_open_due_idx", condition=Q(done_at__isnull=True)),
        ]

    def __str__(self) -> str:
        return self.text

    @property
    def is_done(self) -> bool:
        return self.done_at is not None
