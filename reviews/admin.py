from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from reviews.models import ActionItem, Review, ReviewCycle


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
    readonly_fields = ["scorecard", "shared_at", "acknowledged_at", "closed_at", "created_at", "updated_at"]
    raw_id_fields = ["user", "reviewer"]
    inlines = [ActionItemInline]


@admin.register(ActionItem)
class ActionItemAdmin(SimpleHistoryAdmin):
    list_display = ["text", "review", "due_date", "done_at", "is_overdue"]
    list_filter = ["is_overdue"]
    list_select_related = ["review__user"]
    raw_id_fields = ["review", "carried_from"]
    search_fields = ["text", "review__user__username"]
