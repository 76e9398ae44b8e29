"""Accounts, contacts, deals and the ladder they climb.

The six stage codes and their order are fixed (quotas and funnels compare like with like);
labels, probabilities, stale days and gates are rows an admin can edit.
"""

from __future__ import annotations

import math
from datetime import datetime
from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _


class Stage(models.TextChoices):
    PREP = "prep", _("Preparation (research)")
    CONTACT = "contact", _("First contact")
    NEEDS = "needs", _("Needs analysis")
    PROPOSAL = "proposal", _("Proposal & quote")
    NEGOTIATION = "negotiation", _("Negotiation & follow-up")
    SIGNING = "signing", _("Signing & delivery")

    @property
    def position(self) -> int:
        return STAGE_POSITION[self.value]

    @classmethod
    def ordered(cls) -> list[Stage]:
        return list(cls)


STAGE_POSITION: dict[str, int] = {code: i for i, code in enumerate(Stage.values, start=1)}
OPEN_STAGES = [s for s in Stage if s != Stage.SIGNING]


class DealStatus(models.TextChoices):
    OPEN = "open", _("Open")
    WON = "won", _("Won")
    LOST = "lost", _("Lost")


class DeliveryStatus(models.TextChoices):
    NOT_STARTED = "not_started", _("Not started")
    IN_PROGRESS = "in_progress", _("In progress")
    DELIVERED = "delivered", _("Delivered")


class Channel(models.TextChoices):
    UI = "ui", _("Browser")
    API = "api", _("API")
    INTAKE = "intake", _("Lead intake")
    IMPORT = "import", _("Import")
    ADMIN = "admin", _("Admin")


class StageConfig(models.Model):
    """Per-rung configuration. One row per stage code, loaded by a data migration."""

    stage = models.CharField(_("stage"), max_length=20, choices=Stage.choices, primary_key=True)
    position = models.PositiveSmallIntegerField(_("position"), unique=True, editable=False)
    label_en = models.CharField(_("label (English)"), max_length=80)
    label_zh = models.CharField(_("label (Chinese)"), max_length=80)
    probability = models.PositiveSmallIntegerField(
        _("probability (%)"), validators=[MinValueValidator(0), MaxValueValidator(100)]
    )
    stale_days = models.PositiveSmallIntegerField(
        _("stale after (days)"), null=True, blank=True, help_text=_("No activity for this long flags a deal as stale.")
    )

    class Meta:
        ordering = ["position"]
        verbose_name = _("stage configuration")
        verbose_name_plural = _("stage configuration")
        constraints = [models.CheckConstraint(condition=Q(probability__lte=100), name="stageconfig_probability_pct")]

    def __str__(self) -> str:
        return self.label

    @property
    def label(self) -> str:
        return self.label_zh if (get_language() or "").startswith("zh") else self.label_en


class GateField(models.TextChoices):
    """Deal fields a gate may require. Kept to a fixed list so a gate can always be checked and explained."""

    CONTACT = "contact", _("Contact person")
    NEEDS_SUMMARY = "needs_summary", _("Needs summary")
    AMOUNT = "amount", _("Amount")
    EXPECTED_CLOSE_DATE = "expected_close_date", _("Expected close date")
    SIGNED_ON = "signed_on", _("Signed date")
    CONTRACT_AMOUNT = "contract_amount", _("Contract amount")


class GateRule(models.TextChoices):
    PRESENT = "present", _("must be filled in")
    POSITIVE = "positive", _("must be greater than zero")


class StageGate(models.Model):
    """An exit criterion: to *enter* ``stage`` the deal's ``field`` must satisfy ``rule``."""

    stage = models.CharField(_("stage entered"), max_length=20, choices=Stage.choices)
    field = models.CharField(_("field"), max_length=30, choices=GateField.choices)
    rule = models.CharField(_("rule"), max_length=20, choices=GateRule.choices, default=GateRule.PRESENT)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["stage", "field"]
        verbose_name = _("stage gate")
        verbose_name_plural = _("stage gates")
        constraints = [models.UniqueConstraint(fields=["stage", "field"], name="stagegate_unique_stage_field")]

    def __str__(self) -> str:
        return f"{self.get_stage_display()}: {self.get_field_display()} {self.get_rule_display()}"


class LostReason(models.Model):
    code = models.SlugField(_("code"), max_length=40, unique=True)
    label_en = models.CharField(_("label (English)"), max_length=80)
    label_zh = models.CharField(_("label (Chinese)"), max_length=80)
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["position", "code"]
        verbose_name = _("lost reason")
        verbose_name_plural = _("lost reasons")

    def __str__(self) -> str:
        return self.label

    @property
    def label(self) -> str:
        return self.label_zh if (get_language() or "").startswith("zh") else self.label_en


class Account(models.Model):
    name = models.CharField(_("company"), max_length=200)
    # Lower-cased, punctuation- and suffix-stripped name used to match incoming leads to accounts.
    normalized_name = models.CharField(max_length=200, editable=False)
    domain = models.CharField(_("web domain"), max_length=120, blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("owner"), on_delete=models.PROTECT, related_name="accounts"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("account")
        verbose_name_plural = _("accounts")
        # Equality look-ups only (intake matching); Meta indexes, unlike db_index, add no PostgreSQL
        # varchar_pattern_ops twin (which serves only LIKE 'prefix%', a query nothing runs on these columns).
        indexes = [
            models.Index(fields=["normalized_name"], name="account_normalized_name_idx"),
            models.Index(fields=["domain"], name="account_domain_idx"),
        ]

    def __str__(self) -> str:
        return self.name


class Contact(models.Model):
    account = models.ForeignKey(Account, verbose_name=_("account"), on_delete=models.CASCADE, related_name="contacts")
    name = models.CharField(_("name"), max_length=200)
    title = models.CharField(_("job title"), max_length=120, blank=True)
    email = models.EmailField(_("email"), blank=True)
    phone = models.CharField(_("phone"), max_length=40, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("contact")
        verbose_name_plural = _("contacts")
        indexes = [models.Index(fields=["email"], name="contact_email_idx")]  # no LIKE twin (see Account)

    def __str__(self) -> str:
        return self.name


class Deal(models.Model):
    title = models.CharField(_("title"), max_length=200)
    account = models.ForeignKey(Account, verbose_name=_("account"), on_delete=models.PROTECT, related_name="deals")
    contact = models.ForeignKey(
        Contact,
        verbose_name=_("contact person"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="deals",
    )
    # No single-column indexes on owner and team: the (owner, status, stage) and (team, status, stage)
    # indexes below lead with them and serve every look-up by owner or team (deleting a user or team too).
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("owner"),
        on_delete=models.PROTECT,
        related_name="deals",
        db_index=False,
    )
    team = models.ForeignKey(
        "org.Team", verbose_name=_("team"), on_delete=models.PROTECT, related_name="deals", db_index=False
    )

    stage = models.CharField(_("stage"), max_length=20, choices=Stage.choices, default=Stage.PREP)
    status = models.CharField(_("status"), max_length=10, choices=DealStatus.choices, default=DealStatus.OPEN)
    stage_entered_at = models.DateTimeField(_("in stage since"), default=timezone.now)

    amount = models.DecimalField(
        _("amount"), max_digits=14, decimal_places=2, null=True, blank=True, validators=[MinValueValidator(Decimal(0))]
    )
    currency = models.CharField(_("currency"), max_length=3, default=settings.SALESLADDER_DEFAULT_CURRENCY)
    expected_close_date = models.DateField(_("expected close date"), null=True, blank=True)
    needs_summary = models.TextField(_("needs summary"), blank=True)
    signed_on = models.DateField(_("signed date"), null=True, blank=True)
    contract_amount = models.DecimalField(
        _("contract amount"),
        max_digits=14,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal(0))],
    )
    delivery_status = models.CharField(
        _("delivery"), max_length=20, choices=DeliveryStatus.choices, blank=True, default=""
    )

    lost_reason = models.ForeignKey(
        LostReason, verbose_name=_("lost reason"), null=True, blank=True, on_delete=models.PROTECT, related_name="deals"
    )
    lost_note = models.TextField(_("lost reason details"), blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)

    source = models.CharField(_("source"), max_length=60, blank=True)
    external_id = models.CharField(_("external id"), max_length=120, blank=True)
    notes = models.TextField(_("notes"), blank=True)

    last_activity_at = models.DateTimeField(_("last activity"), null=True, blank=True)
    is_stale = models.BooleanField(_("stale"), default=False, help_text=_("Set by the nightly job."))

    created_at = models.DateTimeField(_("created"), default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True, db_index=True)

    class Meta:
        ordering = ["-updated_at", "-pk"]
        verbose_name = _("deal")
        verbose_name_plural = _("deals")
        constraints = [
            models.UniqueConstraint(
                fields=["source", "external_id"], condition=~Q(external_id=""), name="deal_unique_source_external_id"
            ),
            models.CheckConstraint(
                condition=Q(status="won", stage="signing") | (~Q(status="won") & ~Q(stage="signing")),
                name="deal_won_iff_signing",
            ),
        ]
        indexes = [
            models.Index(fields=["owner", "status", "stage"]),
            models.Index(fields=["team", "status", "stage"]),
            # nightly stale flags: the open unflagged deals by stage and stale clock, and the flagged ones
            models.Index(
                F("stage"),
                Coalesce("last_activity_at", "created_at"),
                name="deal_stale_clock_idx",
                condition=Q(status="open", is_stale=False),
            ),
            models.Index(
                F("status"),
                F("stage"),
                Coalesce("last_activity_at", "created_at"),
                name="deal_stale_flagged_idx",
                condition=Q(is_stale=True),
            ),
            # nightly open-deal figures (pipeline value by close month, open/stale counts) from the index alone
            models.Index(
                fields=["owner", "team", "expected_close_date", "stage"],
                name="deal_open_pipeline_idx",
                include=["amount", "is_stale"],
                condition=Q(status="open"),
            ),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def stage_position(self) -> int:
        return STAGE_POSITION[self.stage]

    @property
    def is_open(self) -> bool:
        return self.status == DealStatus.OPEN


class TransitionKind(models.TextChoices):
    CREATE = "create", _("Created")
    FORWARD = "forward", _("Moved forward")
    BACKWARD = "backward", _("Moved back")
    LOSE = "lose", _("Lost")
    REOPEN = "reopen", _("Reopened")


# Transitions that count as entering ``to_stage`` for funnels (SPEC §3).
ENTRY_KINDS = [TransitionKind.CREATE, TransitionKind.FORWARD]


# stay_bucket = floor(ln(1 + stay in minutes) × STAY_BUCKET_SCALE): the one definition (targets' nightly SQL
# computes the same expression from it).
STAY_BUCKET_SCALE = 32


class StageTransition(models.Model):
    """Append-only history of every stage or status change, with the owner and team at that moment."""

    # deal, owner and team have no single-column index: (deal, occurred_at), (owner, occurred_at) and
    # (team, occurred_at) lead with them and serve every look-up by one of them.
    deal = models.ForeignKey(Deal, on_delete=models.CASCADE, related_name="transitions", db_index=False)
    kind = models.CharField(_("kind"), max_length=10, choices=TransitionKind.choices)
    from_stage = models.CharField(_("from stage"), max_length=20, choices=Stage.choices, blank=True)
    to_stage = models.CharField(_("to stage"), max_length=20, choices=Stage.choices)
    from_status = models.CharField(_("from status"), max_length=10, choices=DealStatus.choices, blank=True)
    to_status = models.CharField(_("to status"), max_length=10, choices=DealStatus.choices)
    occurred_at = models.DateTimeField(_("when"), default=timezone.now)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("owner then"),
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
    )
    team = models.ForeignKey(
        "org.Team", verbose_name=_("team then"), on_delete=models.PROTECT, related_name="+", db_index=False
    )
    # On a forward/backward move: when the deal arrived in ``from_stage`` (its previous stage change), so
    # the stay this move ends lasts ``occurred_at - stay_started_at``. Filled by the nightly job for the
    # deals with a move it has not filled yet (targets.selectors.nightly_sql.stays_fill); NULL until then.
    stay_started_at = models.DateTimeField(_("in the left stage since"), null=True, blank=True, editable=False)
    # floor(ln(1 + stay in minutes) × 32): a bucket of stays of about the same length (3 % wide), filled
    # with stay_started_at; the nightly medians count exits per bucket and read only the median's bucket.
    stay_bucket = models.SmallIntegerField(_("stay length bucket"), null=True, blank=True, editable=False)

    class Meta:
        ordering = ["occurred_at", "pk"]
        verbose_name = _("stage transition")
        verbose_name_plural = _("stage transitions")
        indexes = [
            # a deal's history in order; on PostgreSQL it also holds what the nightly run copies of the
            # changed deals' histories (targets.selectors.nightly_delta), read from the index's leaf pages
            # (a deal's rows side by side) rather than from ~2 heap pages a deal
            models.Index(
                fields=["deal", "occurred_at"],
                name="transition_deal_history_idx",
                include=["id", "kind", "to_stage", "owner", "team", "stay_started_at", "stay_bucket"],
            ),
            models.Index(
                fields=["occurred_at", "to_stage"],
                name="transition_entry_idx",
                condition=Q(kind__in=["create", "forward"]),
            ),
            models.Index(fields=["owner", "occurred_at"]),
            models.Index(fields=["team", "occurred_at"]),
            # nightly medians: the exits of a period by stay bucket (full runs), and the exits of one rep,
            # team or the org from one rung in one stay bucket (the median's bucket)
            models.Index(
                fields=["occurred_at", "from_stage", "owner", "team", "stay_bucket"],
                name="transition_exit_idx",
                condition=Q(kind__in=["forward", "backward"], stay_bucket__isnull=False),
            ),
            models.Index(
                fields=["owner", "from_stage", "stay_bucket", "occurred_at"],
                name="transition_stay_owner_idx",
                include=["stay_started_at"],
                condition=Q(kind__in=["forward", "backward"], stay_bucket__isnull=False),
            ),
            models.Index(
                fields=["team", "from_stage", "stay_bucket", "occurred_at"],
                name="transition_stay_team_idx",
                include=["stay_started_at"],
                condition=Q(kind__in=["forward", "backward"], stay_bucket__isnull=False),
            ),
            models.Index(
                fields=["from_stage", "stay_bucket", "occurred_at"],
                name="transition_stay_org_idx",
                include=["stay_started_at"],
                condition=Q(kind__in=["forward", "backward"], stay_bucket__isnull=False),
            ),
            # nightly: the moves whose stay is still to be filled
            models.Index(
                fields=["deal"],
                name="transition_stay_todo_idx",
                condition=Q(kind__in=["forward", "backward"], stay_started_at__isnull=True),
            ),
            # outcomes: entries into signing and losses of a period
            models.Index(
                fields=["occurred_at", "kind", "to_stage", "deal", "owner", "team"],
                name="transition_close_idx",
                condition=Q(kind="lose") | Q(kind__in=["create", "forward"], to_stage="signing"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.deal_id}: {self.from_stage or '∅'} → {self.to_stage} ({self.kind})"

    @property
    def is_entry(self) -> bool:
        return self.kind in ENTRY_KINDS

    def set_stay(self, since: datetime) -> None:
        """Record, on a move written now, the stay it ends (arrival ``since``): saves the nightly job
        filling it. The nightly job re-checks every new move against the history and corrects it."""
        if since <= self.occurred_at:
            self.stay_started_at = since
            minutes = (self.occurred_at - since).total_seconds() / 60
            self.stay_bucket = math.floor(math.log(1 + minutes) * STAY_BUCKET_SCALE)


class ActivityKind(models.TextChoices):
    CALL = "call", _("Call")
    EMAIL = "email", _("Email")
    MEETING = "meeting", _("Meeting")
    TASK = "task", _("Task")
    NOTE = "note", _("Note")


class Activity(models.Model):
    deal = models.ForeignKey(Deal, verbose_name=_("deal"), on_delete=models.CASCADE, related_name="activities")
    kind = models.CharField(_("kind"), max_length=10, choices=ActivityKind.choices)
    subject = models.CharField(_("subject"), max_length=200)
    body = models.TextField(_("details"), blank=True)
    due_at = models.DateTimeField(_("due"), null=True, blank=True)
    done_at = models.DateTimeField(_("done"), null=True, blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("by"), on_delete=models.PROTECT, related_name="activities"
    )
    created_at = models.DateTimeField(_("logged"), default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("activity")
        verbose_name_plural = _("activities")
        indexes = [
            models.Index(fields=["deal", "-created_at"]),
            models.Index(fields=["owner", "kind", "created_at"]),
            models.Index(fields=["deal", "due_at"], name="activity_open_task_idx", condition=Q(done_at__isnull=True)),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.subject}"

    @property
    def is_done(self) -> bool:
        return self.done_at is not None
