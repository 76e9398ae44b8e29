"""Shapes of ``leads/`` and ``webhooks/``. Lead items are validated by the intake service, not here: these
serializers document the API (OpenAPI) and render records."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from pipeline.models import (
    IntakeRecord,
    IntakeStatus,
    RoutingRule,
    WebhookDelivery,
    WebhookEvent,
    WebhookSubscription,
)


class LeadSerializer(serializers.Serializer):
    """One lead (SPEC §7). ``source`` + ``external_id`` identify it: re-sending updates the same deal."""

    source = serializers.CharField(max_length=60)  # type: ignore[assignment]
    external_id = serializers.CharField(max_length=120)
    company = serializers.CharField(max_length=200, required=False)
    contact_name = serializers.CharField(max_length=200, required=False)
    email = serializers.EmailField(required=False)
    phone = serializers.CharField(max_length=40, required=False)
    title = serializers.CharField(max_length=120, required=False, help_text="The contact's job title.")
    amount = serializers.DecimalField(max_digits=14, decimal_places=2, min_value=0, required=False)
    currency = serializers.CharField(min_length=3, max_length=3, required=False)
    owner = serializers.CharField(required=False, help_text="Username or e-mail; default: routing rule or round-robin.")
    notes = serializers.CharField(required=False, allow_blank=True)


class LeadBatchSerializer(serializers.Serializer):
    leads = LeadSerializer(many=True, help_text="At most 1,000 leads.")


class LeadResultSerializer(serializers.Serializer):
    index = serializers.IntegerField()
    status = serializers.ChoiceField(choices=IntakeStatus.choices)
    deal = serializers.IntegerField(allow_null=True)
    errors = serializers.DictField(child=serializers.ListField(child=serializers.CharField()))  # type: ignore[assignment]


class LeadTotalsSerializer(serializers.Serializer):
    received = serializers.IntegerField()
    created = serializers.IntegerField()
    updated = serializers.IntegerField()
    unchanged = serializers.IntegerField()
    error = serializers.IntegerField()


class LeadIntakeResponseSerializer(serializers.Serializer):
    results = LeadResultSerializer(many=True)
    totals = LeadTotalsSerializer()


class IntakeRecordSerializer(serializers.ModelSerializer):
    class Meta:
        model = IntakeRecord
        fields = [
            "id",
            "source",
            "external_id",
            "status",
            "errors",
            "deal",
            "team",
            "payload",
            "batch_id",
            "index",
            "channel",
            "attempts",
            "created_at",
            "processed_at",
        ]
        read_only_fields = fields


class EventListField(serializers.ListField):
    """A list of event names whose errors stay a flat list of messages (the API's one error shape)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(child=serializers.ChoiceField(choices=WebhookEvent.choices), allow_empty=False, **kwargs)

    def to_internal_value(self, data: Any) -> list[Any]:
        try:
            return super().to_internal_value(data)
        except serializers.ValidationError as exc:
            if isinstance(exc.detail, dict):
                raise serializers.ValidationError(
                    [f"{index}: {' '.join(str(m) for m in messages)}" for index, messages in exc.detail.items()]
                ) from exc
            raise


class WebhookSubscriptionSerializer(serializers.ModelSerializer):
    events = EventListField()
    active = serializers.BooleanField(source="is_active", required=False, default=True)
    secret = serializers.CharField(
        write_only=True,
        required=False,
        allow_blank=True,
        max_length=128,
        help_text="HMAC key; generated when omitted, and shown once in the create answer.",
    )

    class Meta:
        model = WebhookSubscription
        fields = ["id", "url", "events", "active", "description", "secret", "created_by", "created_at", "updated_at"]
        read_only_fields = ["id", "created_by", "created_at", "updated_at"]


class WebhookSubscriptionCreatedSerializer(WebhookSubscriptionSerializer):
    secret = serializers.CharField(read_only=True, help_text="Keep it: it is not shown again.")


class WebhookDeliverySerializer(serializers.ModelSerializer):
    class Meta:
        model = WebhookDelivery
        fields = [
            "id",
            "uuid",
            "event",
            "status",
            "attempts",
            "response_code",
            "response_excerpt",
            "error",
            "payload",
            "next_attempt_at",
            "last_attempt_at",
            "created_at",
        ]
        read_only_fields = fields


class RoutingRuleSerializer(serializers.ModelSerializer):
    active = serializers.BooleanField(source="is_active", required=False, default=True)
    source = serializers.CharField(max_length=60)  # type: ignore[assignment]  # uniqueness checked by the service

    class Meta:
        model = RoutingRule
        fields = ["id", "source", "team", "strategy", "owner", "active", "created_at"]
        read_only_fields = ["id", "created_at"]
