"""Review API shapes. Reads nest action items; writes take plain fields and call the services."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from reviews.models import ActionItem, Review
from reviews.scorecard import scorecard_render
from reviews.services import TEXT_MAX
from salesladder.api.fields import refuse_unknown_fields


class ActionItemSerializer(serializers.ModelSerializer):
    done = serializers.SerializerMethodField()

    class Meta:
        model = ActionItem
        fields = ["id", "review", "text", "due_date", "done", "done_at", "is_overdue", "carried_from", "created_at"]
        read_only_fields = fields

    def get_done(self, obj: ActionItem) -> bool:
        return obj.done_at is not None


# --- the scorecard's documented shape (schema version 1; see reviews/scorecard.py) ---------------------


class ScorecardStageSerializer(serializers.Serializer):
    stage = serializers.CharField()
    entered = serializers.IntegerField()
    quota = serializers.IntegerField(allow_null=True)
    attainment = serializers.FloatField(allow_null=True, help_text="entered / quota")
    pace = serializers.FloatField(allow_null=True, help_text="attainment / elapsed share of the period")
    pace_status = serializers.CharField(allow_null=True, help_text="on_track, behind or at_risk")
    conversion_to_next = serializers.FloatField(allow_null=True)
    team_median_conversion = serializers.FloatField(allow_null=True, help_text="Median over the team's reps.")


class ScorecardPaceSerializer(serializers.Serializer):
    elapsed_share = serializers.FloatField(allow_null=True)
    attainment = serializers.FloatField(allow_null=True, help_text="Signing attainment.")
    status = serializers.CharField(allow_null=True)


class ScorecardOutcomesSerializer(serializers.Serializer):
    won_count = serializers.IntegerField()
    won_amount = serializers.DecimalField(max_digits=16, decimal_places=2, coerce_to_string=True)
    lost_count = serializers.IntegerField()
    win_rate = serializers.FloatField(allow_null=True)
    lost_reasons = serializers.DictField(child=serializers.IntegerField(), help_text="Lost-reason code → deals.")


class ScorecardActivitiesSerializer(serializers.Serializer):
    total = serializers.IntegerField()
    by_kind = serializers.DictField(child=serializers.IntegerField())


class ScorecardStaleDealSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    title = serializers.CharField()
    stage = serializers.CharField()
    last_activity_at = serializers.DateTimeField(allow_null=True)


class ScorecardStaleSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    deals = ScorecardStaleDealSerializer(many=True)


class ScorecardTierRefSerializer(serializers.Serializer):
    name = serializers.CharField()
    threshold = serializers.CharField()
    reward = serializers.CharField()


class ScorecardTierSerializer(serializers.Serializer):
    measure = serializers.CharField()
    value = serializers.CharField()
    reached = ScorecardTierRefSerializer(allow_null=True)
    next = ScorecardTierRefSerializer(allow_null=True)
    gap_to_next = serializers.CharField(allow_null=True)


class ScorecardActionItemSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    text = serializers.CharField()
    due_date = serializers.DateField(allow_null=True)
    done = serializers.BooleanField()
    overdue = serializers.BooleanField()


class ScorecardSerializer(serializers.Serializer):
    """The frozen scorecard, rendered in the current schema version (older versions are upgraded)."""

    schema_version = serializers.IntegerField()
    period = serializers.CharField(required=False, allow_null=True)
    as_of = serializers.DateField(required=False, allow_null=True)
    user = serializers.IntegerField(required=False, allow_null=True)
    team = serializers.IntegerField(required=False, allow_null=True)
    stages = ScorecardStageSerializer(many=True)
    overall_conversion = serializers.FloatField(required=False, allow_null=True)
    pace = ScorecardPaceSerializer(required=False)
    outcomes = ScorecardOutcomesSerializer(required=False)
    activities = ScorecardActivitiesSerializer(required=False)
    stale_deals = ScorecardStaleSerializer(required=False)
    tiers = ScorecardTierSerializer(many=True, required=False)
    previous_action_items = ScorecardActionItemSerializer(many=True, required=False)


class ReviewSerializer(serializers.ModelSerializer):
    user_name = serializers.SerializerMethodField()
    team = serializers.IntegerField(source="cycle.team_id", read_only=True)
    team_name = serializers.CharField(source="cycle.team.name", read_only=True)
    cycle_kind = serializers.CharField(source="cycle.kind", read_only=True)
    scorecard = serializers.SerializerMethodField()
    action_items = ActionItemSerializer(many=True, read_only=True)

    class Meta:
        model = Review
        fields = [
            "id",
            "user",
            "user_name",
            "team",
            "team_name",
            "cycle_kind",
            "reviewer",
            "period",
            "status",
            "scorecard",
            "rating",
            "strengths",
            "improvements",
            "manager_comment",
            "rep_comment",
            "action_items",
            "shared_at",
            "acknowledged_at",
            "closed_at",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    def get_user_name(self, obj: Review) -> str:
        return str(obj.user)

    @extend_schema_field(ScorecardSerializer)
    def get_scorecard(self, obj: Review) -> dict[str, Any]:
        return scorecard_render(obj.scorecard)


class _OnlyKnownFields(serializers.Serializer):
    """Refuses keys it does not declare, instead of silently ignoring them (``status``, ``scorecard``…)."""

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        refuse_unknown_fields(self, _("This field cannot be changed here."))
        if not attrs:
            raise serializers.ValidationError({"non_field_errors": [_("Send at least one field to change.")]})
        return attrs


class ReviewUpdateSerializer(_OnlyKnownFields):
    """The manager edits ``rating`` and the manager's texts; the rep only ``rep_comment``."""

    rating = serializers.IntegerField(min_value=1, max_value=5, allow_null=True, required=False)
    strengths = serializers.CharField(max_length=TEXT_MAX, allow_blank=True, required=False, trim_whitespace=False)
    improvements = serializers.CharField(max_length=TEXT_MAX, allow_blank=True, required=False, trim_whitespace=False)
    manager_comment = serializers.CharField(
        max_length=TEXT_MAX, allow_blank=True, required=False, trim_whitespace=False
    )
    rep_comment = serializers.CharField(max_length=TEXT_MAX, allow_blank=True, required=False, trim_whitespace=False)


class ReviewAcknowledgeSerializer(serializers.Serializer):
    rep_comment = serializers.CharField(max_length=TEXT_MAX, allow_blank=True, required=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        # an empty body is fine (acknowledge without a comment); a stray "rating" is refused, not ignored
        refuse_unknown_fields(self, _("This field cannot be changed here."))
        return attrs


class ActionItemCreateSerializer(serializers.Serializer):
    text = serializers.CharField(max_length=500)
    due_date = serializers.DateField(required=False, allow_null=True)


class ActionItemUpdateSerializer(_OnlyKnownFields):
    text = serializers.CharField(max_length=500, required=False)
    due_date = serializers.DateField(required=False, allow_null=True)
    done = serializers.BooleanField(required=False)


class CompletionQuerySerializer(serializers.Serializer):
    period = serializers.CharField(max_length=10)
    team = serializers.IntegerField(required=False, min_value=1, max_value=2**62)


class CompletionRowSerializer(serializers.Serializer):
    team = serializers.IntegerField()
    team_name = serializers.CharField()
    total = serializers.IntegerField(help_text=_("Reviews drafted for the period (any status)."))
    draft = serializers.IntegerField()
    shared = serializers.IntegerField()
    acknowledged = serializers.IntegerField()
    closed = serializers.IntegerField()


class CompletionSerializer(serializers.Serializer):
    period = serializers.CharField()
    teams = CompletionRowSerializer(many=True)


class HistoryChangeSerializer(serializers.Serializer):
    field = serializers.CharField()
    old = serializers.JSONField(allow_null=True)
    new = serializers.JSONField(allow_null=True)


class HistoryEntrySerializer(serializers.Serializer):
    at = serializers.DateTimeField()
    by = serializers.IntegerField(allow_null=True)
    by_name = serializers.CharField()
    action = serializers.ChoiceField(choices=["created", "changed", "deleted"])
    object = serializers.ChoiceField(choices=["review", "action_item"])
    object_id = serializers.IntegerField()
    changes = HistoryChangeSerializer(many=True)
