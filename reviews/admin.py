from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from simple_history.admin import SimpleHistoryAdmin

from reviews.models import ActionItem, Review, ReviewCycle, ReviewStatus


@admin.register(ReviewCycle)
class ReviewCycleAdmin(admin.ModelAdmin):
    list_display = ["team", "kind", "is_active", "created_at"]
    list_filter = ["kind", "is_active"]
    list_select_related = ["team"]


class ActionItemInline(admin.TabularInline):
    model = ActionItem
    fk_name = "review"
    extra = 0
    fields = ["text", "due_date", "done_at", "is_overdue"]
    readonly_fields = ["is_overdue"]


@admin.register(Review)
class ReviewAdmin(SimpleHistoryAdmin):
    list_display = ["user", "period", "cycle", "status", "rating", "reviewer", "touched_by_human", "updated_at"]
    list_filter = ["status", "cycle__kind", "cycle__team", "period"]
    list_select_related = ["user", "reviewer", "cycle__team"]
    search_fields = ["user__username", "user__first_name", "user__last_name", "period"]
    # Status and its timestamps move only through the workflow services (API and review pages).
    readonly_fields = [
        "status",
        "scorecard",
        "shared_at",
        "acknowledged_at",
        "closed_at",
        "touched_by_human",
        "created_at",
        "updated_at",
    ]
    raw_id_fields = ["user", "reviewer"]
    inlines = [ActionItemInline]

    def get_readonly_fields(self, request: HttpRequest, obj: Review | None = None) -> list[str]:
        # Once shared, the rep has seen it: what was shared (and acknowledged, closed) is the record.
        if obj is not None and obj.status != ReviewStatus.DRAFT:
            return [f.name for f in Review._meta.concrete_fields if f.name != "id"]
        return list(self.readonly_fields)

    def get_inline_instances(self, request: HttpRequest, obj: Review | None = None) -> list[Any]:
        if obj is not None and obj.status == ReviewStatus.CLOSED:
            return []  # closed: the action items are shown on the review page, no longer edited here
        return super().get_inline_instances(request, obj)

    def save_model(self, request: HttpRequest, obj: Review, form: Any, change: bool) -> None:
        # An admin's edit is a person's edit: the nightly job must never treat this review as untouched.
        obj.touched_by_human = True
        super().save_model(request, obj, form, change)


@admin.register(ActionItem)
class ActionItemAdmin(SimpleHistoryAdmin):
    list_display = ["text", "review", "due_date", "done_at", "is_overdue"]
    list_filter = ["is_overdue"]
    list_select_related = ["review__user"]
    raw_id_fields = ["review", "carried_from"]
    search_fields = ["text", "review__user__username"]
