"""Targets API shapes: periods, quotas, templates, tiers, and the funnel/attainment/planner answers.

Output serializers are read-only and declare every field (the OpenAPI schema is the contract the
answers are checked against). Input serializers validate and reference only ids the caller may see;
views hand validated data to the services.
"""

from __future__ import annotations

from typing import Any

from django.core.validators import RegexValidator
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from pipeline.models import Stage
from salesladder.api.fields import ScopedPrimaryKeyRelatedField
from salesladder.errors import DomainError
from salesladder.org.models import Team, User
from salesladder.org.selectors import teams_visible_to, users_visible_to
from targets.models import IncentiveTier, Quota, QuotaTemplate, ScopeType, TierMeasure
from targets.periods import PeriodKind
from targets.quota_selectors import MAX_YEAR, MIN_YEAR, period_from_key
from targets.quota_services import MAX_QUOTA, MAX_THRESHOLD


def flat_errors(detail: Any, prefix: str = "") -> dict[str, list[str]]:
    """DRF's nested errors (list and dict fields) as ``{"lines.0.stage": [...]}``: the API's one error shape."""
    out: dict[str, list[str]] = {}
    if isinstance(detail, dict):
        for key, value in detail.items():
            name = str(key) if not prefix else (prefix if key == "non_field_errors" else f"{prefix}.{key}")
            for k, v in flat_errors(value, name).items():
                out.setdefault(k, []).extend(v)
    elif isinstance(detail, list):
        if all(not isinstance(item, dict | list) for item in detail):
            out[prefix or "non_field_errors"] = [str(item) for item in detail]
        else:
            for i, item in enumerate(detail):
                if item:
                    for k, v in flat_errors(item, f"{prefix}.{i}" if prefix else str(i)).items():
                        out.setdefault(k, []).extend(v)
    else:
        out[prefix or "non_field_errors"] = [str(detail)]
    return out


def validated(serializer: serializers.Serializer) -> dict[str, Any]:
    """``is_valid`` raising a 400 whose errors are flat lists of messages per (dotted) field."""
    if not serializer.is_valid():
        raise serializers.ValidationError(flat_errors(serializer.errors))
    return serializer.validated_data  # type: ignore[return-value]


# Either case of the W and Q (``2026-w48`` is ``2026-W48``): the parsed ``Period`` carries the canonical key.
PERIOD_PATTERN = r"^(19[7-9][0-9]|2[0-9]{3})-(0[1-9]|1[0-2]|[Ww](0[1-9]|[1-4][0-9]|5[0-3])|[Qq][1-4])$"


class PeriodKeyField(serializers.CharField):
    """``2026-11`` / ``2026-W48`` / ``2026-Q4``; validated to a ``Period``."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", 10)
        kwargs.setdefault("help_text", _("A month (2026-11), an ISO week (2026-W48) or a quarter (2026-Q4)."))
        super().__init__(**kwargs)
        message = _("Use a month (2026-11), an ISO week (2026-W48) or a quarter (2026-Q4).")
        self.validators.append(RegexValidator(PERIOD_PATTERN, message=message))

    def run_validation(self, data: Any = serializers.empty) -> Any:
        value = super().run_validation(data)
        if value in (None, ""):
            return value
        try:
            return period_from_key(value)
        except DomainError as exc:
            raise serializers.ValidationError(next(iter(exc.errors.values()))) from None


MAX_ID = 2**63 - 1


class BoundedDateField(serializers.DateField):
    def to_internal_value(self, value: Any) -> Any:
        day = super().to_internal_value(value)
        if not (MIN_YEAR <= day.year <= MAX_YEAR):
            raise serializers.ValidationError(
                _("Use a date between %(lo)s and %(hi)s.") % {"lo": MIN_YEAR, "hi": MAX_YEAR}
            )
        return day


class ScopeSerializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=ScopeType.choices)
    id = serializers.IntegerField(help_text=_("User or team id; 0 for the organisation."))
    label = serializers.CharField()  # type: ignore[assignment]  # a declared field, not Field.label


# --- periods -----------------------------------------------------------------------------------


class PeriodSerializer(serializers.Serializer):
    key = serializers.CharField()
    kind = serializers.CharField(help_text="month | week | quarter")
    start = serializers.DateField(help_text=_("First day."))
    end = serializers.DateField(help_text=_("Last day (inclusive)."))
    days = serializers.IntegerField()
    is_current = serializers.BooleanField()
    previous = serializers.CharField()
    next = serializers.CharField()


# --- quotas ------------------------------------------------------------------------------------


class QuotaSerializer(serializers.ModelSerializer):
    username = serializers.CharField(source="user.username", read_only=True, allow_null=True, default=None)
    team_name = serializers.CharField(source="team.name", read_only=True, allow_null=True, default=None)

    class Meta:
        model = Quota
        fields = ["id", "period", "user", "username", "team", "team_name", "stage", "value", "updated_at"]
        read_only_fields = fields


class QuotaWriteSerializer(serializers.Serializer):
    period = PeriodKeyField()
    stage = serializers.ChoiceField(choices=Stage.choices)
    value = serializers.IntegerField(min_value=0, max_value=MAX_QUOTA)
    user = ScopedPrimaryKeyRelatedField(scope=users_visible_to, model=User, required=False, allow_null=True)
    team = ScopedPrimaryKeyRelatedField(scope=teams_visible_to, model=Team, required=False, allow_null=True)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if (attrs.get("user") is None) == (attrs.get("team") is None):
            raise serializers.ValidationError({"non_field_errors": [_("Give either a rep or a team, not both.")]})
        return attrs


class QuotaValueSerializer(serializers.Serializer):
    value = serializers.IntegerField(min_value=0, max_value=MAX_QUOTA)


class LadderFlagSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="quota_increases | unreachable")
    stage = serializers.ChoiceField(choices=Stage.choices)
    next_stage = serializers.ChoiceField(choices=Stage.choices)
    quota = serializers.IntegerField()
    next_quota = serializers.IntegerField()
    max_next = serializers.IntegerField(allow_null=True)
    message = serializers.CharField()


class GridRowSerializer(serializers.Serializer):
    user = serializers.IntegerField(source="user.pk")
    username = serializers.CharField(source="user.username")
    quotas = serializers.DictField(child=serializers.IntegerField(allow_null=True), help_text="stage → quota or null")
    ladder_flags = LadderFlagSerializer(
        many=True,
        default=list,
        help_text=_(
            "Rungs this rep's quotas cannot feed at their trailing conversion rates (default rates without history)."
        ),
    )


class TeamRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class GridSerializer(serializers.Serializer):
    period = serializers.CharField()
    team = TeamRefSerializer()
    rows = GridRowSerializer(many=True)


class GridQuerySerializer(serializers.Serializer):
    period = PeriodKeyField(required=False)
    team = ScopedPrimaryKeyRelatedField(scope=teams_visible_to, model=Team)


class GridWriteSerializer(serializers.Serializer):
    period = PeriodKeyField()
    team = ScopedPrimaryKeyRelatedField(scope=teams_visible_to, model=Team)
    grid = serializers.DictField(
        child=serializers.DictField(child=serializers.JSONField(allow_null=True), allow_empty=True),
        help_text=_('{"<user id>": {"<stage>": quota or null}}; errors come back keyed "<user id>.<stage>".'),
    )


class ApplyTemplateSerializer(serializers.Serializer):
    period = PeriodKeyField()
    team = ScopedPrimaryKeyRelatedField(scope=teams_visible_to, model=Team)
    template = serializers.PrimaryKeyRelatedField(
        queryset=QuotaTemplate.objects.all(), required=False, allow_null=True, help_text=_("Omitted: the default.")
    )


class CopyPreviousSerializer(serializers.Serializer):
    period = PeriodKeyField()
    team = ScopedPrimaryKeyRelatedField(scope=teams_visible_to, model=Team)


class CopyResultSerializer(GridSerializer):
    copied = serializers.IntegerField(help_text=_("Quota cells written."))


# --- templates ---------------------------------------------------------------------------------


class TemplateLineSerializer(serializers.Serializer):
    stage = serializers.ChoiceField(choices=Stage.choices)
    value = serializers.IntegerField(min_value=0, max_value=MAX_QUOTA)


class TemplateSerializer(serializers.ModelSerializer):
    lines = serializers.SerializerMethodField()

    class Meta:
        model = QuotaTemplate
        fields = ["id", "name", "period_kind", "is_default", "lines", "created_at"]
        read_only_fields = fields

    @extend_schema_field(TemplateLineSerializer(many=True))
    def get_lines(self, obj: QuotaTemplate) -> list[dict[str, Any]]:
        order = {s: i for i, s in enumerate(Stage.values)}
        lines = sorted(obj.lines.all(), key=lambda line: order.get(line.stage, 99))
        return [{"stage": line.stage, "value": line.value} for line in lines]


class TemplateWriteSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=120)
    period_kind = serializers.ChoiceField(choices=PeriodKind.choices, default=PeriodKind.MONTH)
    lines = TemplateLineSerializer(many=True, allow_empty=False)


class TemplatePatchSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=120, required=False)
    period_kind = serializers.ChoiceField(choices=PeriodKind.choices, required=False)
    lines = TemplateLineSerializer(many=True, allow_empty=False, required=False)


# --- tiers -------------------------------------------------------------------------------------


class TierSerializer(serializers.ModelSerializer):
    team_name = serializers.CharField(source="team.name", read_only=True, allow_null=True, default=None)

    class Meta:
        model = IncentiveTier
        fields = ["id", "period", "team", "team_name", "measure", "threshold", "name", "reward"]
        read_only_fields = fields


class TierWriteSerializer(serializers.Serializer):
    period = PeriodKeyField()
    team = ScopedPrimaryKeyRelatedField(
        scope=teams_visible_to, model=Team, required=False, allow_null=True, help_text=_("Empty: organisation-wide.")
    )
    measure = serializers.ChoiceField(choices=TierMeasure.choices, default=TierMeasure.SIGNINGS)
    threshold = serializers.DecimalField(max_digits=14, decimal_places=2, min_value=0, max_value=MAX_THRESHOLD)
    name = serializers.CharField(max_length=80)
    reward = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")


class TierRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    threshold = serializers.DecimalField(max_digits=14, decimal_places=2)
    reward = serializers.CharField()


class StandingSerializer(serializers.Serializer):
    user = serializers.IntegerField()
    username = serializers.CharField()
    measure = serializers.ChoiceField(choices=TierMeasure.choices)
    value = serializers.DecimalField(max_digits=16, decimal_places=2)
    reached = TierRefSerializer(allow_null=True)
    next = TierRefSerializer(allow_null=True)
    gap = serializers.DecimalField(max_digits=16, decimal_places=2, allow_null=True)


class StandingsSerializer(serializers.Serializer):
    period = serializers.CharField()
    scope = ScopeSerializer()
    tiers = TierSerializer(many=True)
    rows = StandingSerializer(many=True)


# --- analytics ---------------------------------------------------------------------------------


class ScopeQuerySerializer(serializers.Serializer):
    team = serializers.IntegerField(
        required=False,
        min_value=1,
        max_value=MAX_ID,
        help_text=_(
            "Team id (with its sub-teams). Without team and user: a rep's own figures, the team a manager "
            "leads, the organisation for admins."
        ),
    )
    user = serializers.CharField(required=False, max_length=150, help_text=_("Rep id or username."))


class AnalyticsQuerySerializer(ScopeQuerySerializer):
    period = PeriodKeyField(required=False, help_text=_("Default: the current month."))
    as_of = BoundedDateField(
        required=False, help_text=_("A past day reads that day's nightly snapshot; default: live, today.")
    )


class FunnelStageSerializer(serializers.Serializer):
    stage = serializers.ChoiceField(choices=Stage.choices)
    entered = serializers.IntegerField()
    conversion_to_next = serializers.FloatField(
        allow_null=True, help_text=_("entered(next) / entered; null at the top")
    )
    cohort_reached = serializers.IntegerField()
    cohort_share = serializers.FloatField(allow_null=True)
    quota = serializers.IntegerField(allow_null=True)
    attainment = serializers.FloatField(allow_null=True)
    median_days_in_stage = serializers.FloatField(allow_null=True)


class FunnelSerializer(serializers.Serializer):
    period = serializers.CharField()
    scope = ScopeSerializer()
    as_of = serializers.DateField()
    source = serializers.ChoiceField(  # type: ignore[assignment]  # a declared field, not Field.source
        choices=[("live", "live"), ("snapshot", "snapshot")]
    )
    stages = FunnelStageSerializer(many=True)
    overall_conversion = serializers.FloatField(allow_null=True, help_text=_("entered(signing) / entered(prep)"))
    cohort_size = serializers.IntegerField()
    medians_as_of = serializers.DateField(
        allow_null=True,
        required=False,
        help_text="Live figures built on a nightly snapshot: the day whose median days in stage they show "
        "(null: computed now).",
    )


class AttainmentRowSerializer(serializers.Serializer):
    user = serializers.IntegerField(allow_null=True)
    user_label = serializers.CharField()
    stage = serializers.ChoiceField(choices=Stage.choices)
    quota = serializers.IntegerField(allow_null=True)
    entered = serializers.IntegerField()
    attainment = serializers.FloatField(allow_null=True)
    pace = serializers.FloatField(allow_null=True)
    pace_status = serializers.CharField(allow_null=True, help_text="on_track | behind | at_risk")


class AttainmentSerializer(serializers.Serializer):
    period = serializers.CharField()
    scope = ScopeSerializer()
    as_of = serializers.DateField()
    source = serializers.ChoiceField(  # type: ignore[assignment]  # a declared field, not Field.source
        choices=[("live", "live"), ("snapshot", "snapshot")]
    )
    elapsed_share = serializers.FloatField()
    rows = AttainmentRowSerializer(many=True)
    totals = AttainmentRowSerializer(many=True)


class PlannerQuerySerializer(ScopeQuerySerializer):
    period = PeriodKeyField(required=False, help_text=_("The period planned; default: the current month."))
    signings = serializers.IntegerField(
        required=False, min_value=0, max_value=100_000, help_text=_("Default: the scope's signing quota.")
    )
    periods_back = serializers.IntegerField(required=False, min_value=1, max_value=24, default=3)


class PlanRateSerializer(serializers.Serializer):
    stage = serializers.ChoiceField(choices=Stage.choices)
    next_stage = serializers.ChoiceField(choices=Stage.choices)
    entered = serializers.IntegerField()
    entered_next = serializers.IntegerField()
    rate = serializers.FloatField()
    source = serializers.CharField(  # type: ignore[assignment]  # a declared field, not Field.source
        help_text="observed | default (no usable history for this rung)"
    )


class PlanNeedSerializer(serializers.Serializer):
    stage = serializers.ChoiceField(choices=Stage.choices)
    needed = serializers.IntegerField()
    quota = serializers.IntegerField(allow_null=True)


PlanFlagSerializer = LadderFlagSerializer


class PlanWarningSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="no_history | no_data | zero_rate | rate_capped | ladder")
    stage = serializers.CharField(allow_null=True)
    message = serializers.CharField()


class PlanSerializer(serializers.Serializer):
    period = serializers.CharField()
    scope = ScopeSerializer()
    signings = serializers.IntegerField()
    periods_back = serializers.IntegerField()
    history = serializers.ListField(child=serializers.CharField())
    rates = PlanRateSerializer(many=True)
    overall_rate = serializers.FloatField()
    needs = PlanNeedSerializer(many=True)
    ladder_flags = PlanFlagSerializer(many=True)
    warnings = PlanWarningSerializer(many=True)


# --- outcomes, pipeline value, observed win rates -----------------------------------------------------


class OutcomesQuerySerializer(AnalyticsQuerySerializer):
    as_of = BoundedDateField(required=False, help_text=_("Count closings up to the end of this day; default: today."))


class LostReasonCountSerializer(serializers.Serializer):
    code = serializers.CharField(allow_null=True, help_text=_("null: lost without a reason (old data)"))
    label = serializers.CharField()  # type: ignore[assignment]  # a declared field, not Field.label
    deals = serializers.IntegerField()


class OutcomesSerializer(serializers.Serializer):
    period = serializers.CharField()
    scope = ScopeSerializer()
    as_of = serializers.DateField()
    won_count = serializers.IntegerField()
    won_amount = serializers.DecimalField(max_digits=16, decimal_places=2, help_text=_("Contract amounts won."))
    lost_count = serializers.IntegerField()
    win_rate = serializers.FloatField(allow_null=True, help_text=_("won / (won + lost); null when nothing closed"))
    lost_reasons = LostReasonCountSerializer(
        many=True,
        help_text=_("Most deals first; equal counts by label (in the caller's language), then by code."),
    )


class PipelineMonthSerializer(serializers.Serializer):
    month = serializers.CharField(allow_null=True, help_text=_("YYYY-MM of the expected close date; null: none set"))
    weighted_amount = serializers.DecimalField(max_digits=18, decimal_places=2)


class PipelineValueSerializer(serializers.Serializer):
    scope = ScopeSerializer()
    months = PipelineMonthSerializer(many=True)
    total = serializers.DecimalField(max_digits=18, decimal_places=2)


class StageWinRateSerializer(serializers.Serializer):
    stage = serializers.ChoiceField(choices=Stage.choices)
    configured_probability = serializers.IntegerField(help_text=_("Percent, as configured for the stage."))
    observed = serializers.FloatField(allow_null=True, help_text=_("Won / closed among deals that reached the stage."))
    closed_sample = serializers.IntegerField()
    drift = serializers.BooleanField()


class StageWinRatesSerializer(serializers.Serializer):
    scope = ScopeSerializer()
    drift_points = serializers.IntegerField(help_text=_("Observed and configured further apart than this: drift."))
    stages = StageWinRateSerializer(many=True)
