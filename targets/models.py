"""Quotas per rung, templates, incentive tiers, and the nightly snapshots of funnels and attainment."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from pipeline.models import Stage
from targets.periods import PeriodKind

PERIOD_KEY_MAX = 10  # "2026-W48"


class Quota(models.Model):
    """How many deals a rep (or a team, overriding the sum of its members) should bring into ``stage``."""

    period = models.CharField(_("period"), max_length=PERIOD_KEY_MAX, db_index=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("rep"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="quotas",
    )
    team = models.ForeignKey(
        "org.Team", verbose_name=_("team"), null=True, blank=True, on_delete=models.CASCADE, related_name="quotas"
    )
    stage = models.CharField(_("stage"), max_length=20, choices=Stage.choices)
    value = models.PositiveIntegerField(_("quota"))
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("quota")
        verbose_name_plural = _("quotas")
        constraints = [
            models.CheckConstraint(
                condition=(Q(user__isnull=False) & Q(team__isnull=True))
                | (Q(user__isnull=True) & Q(team__isnull=False)),
                name="quota_user_xor_team",
            ),
            models.UniqueConstraint(
                fields=["period", "user", "stage"], condition=Q(user__isnull=False), name="quota_unique_user"
            ),
            models.UniqueConstraint(
                fields=["period", "team", "stage"], condition=Q(team__isnull=False), name="quota_unique_team"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.period} {self.user or self.team} {self.stage}: {self.value}"


class QuotaTemplate(models.Model):
    """A named ladder of per-rung quotas (the default is the source document's 100/50/20/10/5/3 a month)."""

    name = models.CharField(_("name"), max_length=120, unique=True)
    period_kind = models.CharField(
        _("period kind"), max_length=10, choices=PeriodKind.choices, default=PeriodKind.MONTH
    )
    is_default = models.BooleanField(_("default"), default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-is_default", "name"]
        verbose_name = _("quota template")
        verbose_name_plural = _("quota templates")
        constraints = [
            models.UniqueConstraint(fields=["is_default"], condition=Q(is_default=True), name="one_default_template")
        ]

    def __str__(self) -> str:
        return self.name


class QuotaTemplateLine(models.Model):
    template = models.ForeignKey(QuotaTemplate, on_delete=models.CASCADE, related_name="lines")
    stage = models.CharField(_("stage"), max_length=20, choices=Stage.choices)
    value = models.PositiveIntegerField(_("quota"))

    class Meta:
        constraints = [models.UniqueConstraint(fields=["template", "stage"], name="template_line_unique_stage")]

    def __str__(self) -> str:
        return f"{self.template}: {self.stage} {self.value}"


class TierMeasure(models.TextChoices):
    SIGNINGS = "signings", _("Signings")
    WON_AMOUNT = "won_amount", _("Won amount")


class IncentiveTier(models.Model):
    """One rung of the reward ladder: reaching ``threshold`` of ``measure`` in ``period`` earns ``reward``."""

    period = models.CharField(_("period"), max_length=PERIOD_KEY_MAX, db_index=True)
    team = models.ForeignKey(
        "org.Team",
        verbose_name=_("team"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="tiers",
        help_text=_("Empty: applies to the whole organisation."),
    )
    measure = models.CharField(_("measure"), max_length=20, choices=TierMeasure.choices, default=TierMeasure.SIGNINGS)
    threshold = models.DecimalField(_("threshold"), max_digits=14, decimal_places=2)
    name = models.CharField(_("tier"), max_length=80)
    reward = models.CharField(_("reward"), max_length=300, blank=True)

    class Meta:
        ordering = ["period", "measure", "threshold"]
        verbose_name = _("incentive tier")
        verbose_name_plural = _("incentive tiers")
        constraints = [
            models.UniqueConstraint(
                fields=["period", "team", "measure", "threshold"],
                condition=Q(team__isnull=False),
                name="tier_unique_team_threshold",
            ),
            models.UniqueConstraint(
                fields=["period", "measure", "threshold"],
                condition=Q(team__isnull=True),
                name="tier_unique_org_threshold",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.period} {self.name} (≥ {self.threshold} {self.get_measure_display()})"


class ScopeType(models.TextChoices):
    USER = "user", _("Rep")
    TEAM = "team", _("Team")
    ORG = "org", _("Organisation")


class FunnelSnapshot(models.Model):
    """Per-rung figures of one scope and period, as computed at the end of ``as_of``. Upserted nightly."""

    scope_type = models.CharField(max_length=10, choices=ScopeType.choices)
    scope_id = models.BigIntegerField(help_text="User or team id; 0 for the organisation.")
    period = models.CharField(max_length=PERIOD_KEY_MAX)
    as_of = models.DateField()
    stage = models.CharField(max_length=20, choices=Stage.choices)
    entered = models.PositiveIntegerField(default=0)
    quota = models.PositiveIntegerField(null=True, blank=True)
    cohort_reached = models.PositiveIntegerField(
        default=0, help_text="Of the period's prep cohort, how many reached this rung."
    )
    median_days_in_stage = models.FloatField(null=True, blank=True)
    stay_buckets = models.TextField(
        default="",
        blank=True,
        help_text="Exits of the period from this rung per stay-length bucket, a flat JSON array [bucket, "
        "exits, bucket, exits, ...] in bucket order; the next nightly run adds its new exits and locates the "
        "median from it.",
    )
    computed_at = models.DateTimeField(auto_now=True)

    class Meta:
        # (period, as_of) first: a night's rows are appended at the end of the index, and every reader (a
        # day's rows of a period, some scopes among them) walks one range of it
        constraints = [
            models.UniqueConstraint(
                fields=["period", "as_of", "scope_type", "scope_id", "stage"], name="funnel_snapshot_key"
            )
        ]

    def __str__(self) -> str:
        return f"{self.scope_type}:{self.scope_id} {self.period}@{self.as_of} {self.stage}={self.entered}"


class ScopeSnapshot(models.Model):
    """Whole-scope figures of one period as of a day: outcomes, pipeline value, staleness, lost reasons."""

    scope_type = models.CharField(max_length=10, choices=ScopeType.choices)
    scope_id = models.BigIntegerField()
    period = models.CharField(max_length=PERIOD_KEY_MAX)
    as_of = models.DateField()
    won_count = models.PositiveIntegerField(default=0)
    won_amount = models.DecimalField(max_digits=16, decimal_places=2, default=0)
    lost_count = models.PositiveIntegerField(default=0)
    open_count = models.PositiveIntegerField(default=0)
    stale_count = models.PositiveIntegerField(default=0)
    weighted_pipeline = models.JSONField(default=dict, help_text="{'YYYY-MM': amount × probability}")
    lost_reasons = models.JSONField(default=dict, help_text="{reason code: count}")
    extra = models.JSONField(default=dict)
    computed_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            # (as the funnel's: the nightly run reads a day's rows of a period)
            models.UniqueConstraint(fields=["period", "as_of", "scope_type", "scope_id"], name="scope_snapshot_key")
        ]

    def __str__(self) -> str:
        return f"{self.scope_type}:{self.scope_id} {self.period}@{self.as_of}"


class NightlyRun(models.Model):
    """Bookkeeping for the nightly job: one row per run day; ``watermark`` drives incremental recomputes."""

    run_date = models.DateField(unique=True)
    watermark = models.DateTimeField(help_text="Transitions and activities up to here are reflected in snapshots.")
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    stats = models.JSONField(default=dict)

    def __str__(self) -> str:
        return f"nightly {self.run_date}"


class NightlyOpenDeal(models.Model):
    """What each open deal added to the open-deal figures (open/stale counts, weighted pipeline) when the
    nightly job last looked at it: incremental runs add (now − this) for the deals changed since.
    Rebuilt by every full run; not a foreign key (a deleted deal makes the next run full)."""

    deal_id = models.BigIntegerField(primary_key=True)
    owner_id = models.BigIntegerField()
    team_id = models.BigIntegerField()
    month = models.CharField(max_length=7, blank=True, help_text="Expected close month, '' without a date.")
    units = models.BigIntegerField(help_text="Amount in cents × the stage's probability (%): exact.")
    is_stale = models.BooleanField()

    def __str__(self) -> str:
        return f"open deal {self.deal_id}"


class NightlyOpenTotal(models.Model):
    """The sums of ``NightlyOpenDeal`` per (owner, team, close month): a few thousand rows the nightly job
    keys by rep, team and org. Exact (integer units), so incremental runs never drift."""

    owner_id = models.BigIntegerField()
    team_id = models.BigIntegerField()
    month = models.CharField(max_length=7, blank=True)
    units = models.DecimalField(max_digits=32, decimal_places=0)
    deals = models.IntegerField()
    stale = models.IntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["owner_id", "team_id", "month"], name="nightly_open_total_unique")
        ]

    def __str__(self) -> str:
        return f"open deals {self.owner_id}/{self.team_id} {self.month or '-'}"


class NightlyLedgerState(models.Model):
    """Which nightly ledgers hold a complete build (a row per ledger, written with the build). On PostgreSQL
    the open-deal ledger, its totals and this table are UNLOGGED (no WAL: rebuilding them is ~2× cheaper),
    so a crash or a fail-over empties all three at once; a missing row makes the next run rebuild that
    ledger instead of adding to it."""

    key = models.CharField(max_length=40, primary_key=True)
    built_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.key} built {self.built_at:%Y-%m-%d %H:%M}"


class NightlyInvalidation(models.Model):
    """Nightly bookkeeping values: counters of changes an incremental run cannot see (deleted deals: a run
    whose counter differs from the previous run's is full) and the as-of day (ordinal) the closed-deal
    ledger was last written for."""

    key = models.CharField(max_length=40, primary_key=True)
    version = models.PositiveBigIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.key} #{self.version}"


class NightlyClosedDeal(models.Model):
    """Per snapshot period, the values of each deal with a closing (a loss or an entry into signing) in it
    as the nightly job last counted them: the won-amount basis and, while lost, the lost reason. Incremental
    runs add (now − this) for the deals changed since; full runs rebuild a period's rows."""

    period = models.CharField(max_length=PERIOD_KEY_MAX)
    deal_id = models.BigIntegerField()
    amount = models.DecimalField(max_digits=14, decimal_places=2, help_text="Contract amount, else amount, else 0.")
    # NULL: not lost (now); "": lost without a reason
    lost_code = models.CharField(max_length=40, null=True, blank=True, help_text="Lost reason code while lost.")  # noqa: DJ001

    class Meta:
        constraints = [models.UniqueConstraint(fields=["period", "deal_id"], name="nightly_closed_deal_unique")]

    def __str__(self) -> str:
        return f"closed deal {self.deal_id} in {self.period}"
