"""Admin for lead intake (routing rules, the quarantine) and webhooks. Imported by ``pipeline.admin``."""

from __future__ import annotations

from functools import partial

from django.contrib import admin, messages
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from pipeline.models import IntakeRecord, IntakeStatus, RoutingRule, WebhookDelivery, WebhookSubscription


@admin.register(RoutingRule)
class RoutingRuleAdmin(admin.ModelAdmin):
    list_display = ["source", "team", "strategy", "owner", "is_active"]
    list_filter = ["strategy", "is_active", "team"]
    list_editable = ["is_active"]
    search_fields = ["source"]
    autocomplete_fields = ["team", "owner"]


@admin.register(IntakeRecord)
class IntakeRecordAdmin(admin.ModelAdmin):
    list_display = ["created_at", "source", "external_id", "status", "deal", "team", "channel", "attempts"]
    list_filter = ["status", "channel", "source", "team"]
    search_fields = ["source", "external_id"]
    list_select_related = ["deal", "team"]
    raw_id_fields = ["deal", "actor"]
    readonly_fields = ["batch_id", "index", "status", "errors", "deal", "created_at", "processed_at", "attempts"]
    date_hierarchy = "created_at"
    actions = ["rerun_selected"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.action(description=_("Re-run selected quarantined leads as they are"))
    def rerun_selected(self, request: HttpRequest, queryset: QuerySet[IntakeRecord]) -> None:
        from pipeline.services.intake import intake_record_retry

        fixed = 0
        for record in queryset.filter(status=IntakeStatus.ERROR):
            record = intake_record_retry(record=record, fixes={}, actor=request.user)  # type: ignore[arg-type]
            fixed += record.status != IntakeStatus.ERROR
        self.message_user(request, _("%(n)d lead(s) now accepted.") % {"n": fixed}, messages.SUCCESS)


@admin.register(WebhookSubscription)
class WebhookSubscriptionAdmin(admin.ModelAdmin):
    list_display = ["url", "events", "is_active", "created_by", "created_at"]
    list_filter = ["is_active"]
    search_fields = ["url", "description"]
    readonly_fields = ["created_by", "created_at", "updated_at"]

    def save_model(self, request, obj, form, change):  # type: ignore[no-untyped-def]
        from pipeline.services.webhooks import _clean_subscription, invalidate_active_events

        obj.events = _clean_subscription(url=obj.url, events=obj.events)
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)
        transaction.on_commit(invalidate_active_events)

    def delete_model(self, request, obj):  # type: ignore[no-untyped-def]
        from pipeline.services.webhooks import invalidate_active_events

        super().delete_model(request, obj)
        transaction.on_commit(invalidate_active_events)


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    list_display = ["created_at", "event", "subscription", "status", "attempts", "response_code", "last_attempt_at"]
    list_filter = ["status", "event"]
    list_select_related = ["subscription"]
    readonly_fields = [f.name for f in WebhookDelivery._meta.fields]
    actions = ["redeliver_selected"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.action(description=_("Send selected deliveries again"))
    def redeliver_selected(self, request: HttpRequest, queryset: QuerySet[WebhookDelivery]) -> None:
        from pipeline.tasks import deliver_webhook

        ids = list(queryset.values_list("pk", flat=True))
        queryset.update(status="pending", attempts=0)
        for pk in ids:
            transaction.on_commit(partial(deliver_webhook.delay, pk))
        self.message_user(request, _("%(n)d delivery(ies) queued.") % {"n": len(ids)}, messages.SUCCESS)
