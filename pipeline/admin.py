from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from pipeline.models import (
    Account,
    Activity,
    Contact,
    Deal,
    LostReason,
    StageConfig,
    StageGate,
    StageTransition,
)
from pipeline.services.deals import DEAL_EDITABLE_FIELDS
from salesladder.errors import DomainError
from salesladder.org.selectors import rep_team


@admin.register(StageConfig)
class StageConfigAdmin(admin.ModelAdmin):
    list_display = ["stage", "position", "label_en", "label_zh", "probability", "stale_days"]
    list_editable = ["label_en", "label_zh", "probability", "stale_days"]
    ordering = ["position"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # the six rungs are fixed; only their settings are data

    def has_delete_permission(self, request: HttpRequest, obj: StageConfig | None = None) -> bool:
        return False


@admin.register(StageGate)
class StageGateAdmin(admin.ModelAdmin):
    list_display = ["stage", "field", "rule", "is_active"]
    list_filter = ["stage", "is_active"]
    list_editable = ["rule", "is_active"]


@admin.register(LostReason)
class LostReasonAdmin(admin.ModelAdmin):
    list_display = ["code", "label_en", "label_zh", "position", "is_active"]
    list_editable = ["label_en", "label_zh", "position", "is_active"]
    search_fields = ["code", "label_en", "label_zh"]


class ContactInline(admin.TabularInline):
    model = Contact
    extra = 0
    fields = ["name", "title", "email", "phone"]


@admin.register(Account)
class AccountAdmin(admin.ModelAdmin):
    list_display = ["name", "domain", "owner", "created_at"]
    search_fields = ["name", "domain"]
    list_filter = ["owner"]
    autocomplete_fields = ["owner"]
    inlines = [ContactInline]
    readonly_fields = ["normalized_name"]

    def save_model(self, request, obj, form, change):  # type: ignore[no-untyped-def]
        from pipeline.services import normalize_company_name

        obj.normalized_name = normalize_company_name(obj.name)
        super().save_model(request, obj, form, change)


@admin.register(Contact)
class ContactAdmin(admin.ModelAdmin):
    list_display = ["name", "account", "title", "email", "phone"]
    search_fields = ["name", "email", "phone", "account__name"]
    autocomplete_fields = ["account"]


class TransitionInline(admin.TabularInline):
    """The history is append-only: shown, never edited here."""

    model = StageTransition
    extra = 0
    can_delete = False
    fields = readonly_fields = (
        "occurred_at",
        "kind",
        "from_stage",
        "to_stage",
        "from_status",
        "to_status",
        "owner",
        "team",
        "actor",
        "channel",
    )
    ordering = ["occurred_at", "pk"]

    def has_add_permission(self, request: HttpRequest, obj: Deal | None = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Deal | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Deal | None = None) -> bool:
        return False


class ActivityInline(admin.TabularInline):
    model = Activity
    extra = 0
    fields = readonly_fields = ("created_at", "kind", "subject", "due_at", "done_at", "owner")
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, obj: Deal | None = None) -> bool:
        return False


class DealAdminForm(forms.ModelForm):
    """Shows what ``deal_update`` would refuse next to the field, before anything is saved."""

    class Meta:
        model = Deal
        fields = sorted(DEAL_EDITABLE_FIELDS)  # what deal_update accepts; stage and status never

    def clean(self) -> dict:
        data = super().clean() or {}
        contact, account, owner = data.get("contact"), data.get("account"), data.get("owner")
        if contact is not None and account is not None and contact.account_id != account.pk:
            self.add_error("contact", _("The contact belongs to another account."))
        if owner is not None and "owner" in self.changed_data and rep_team(user=owner) is None:
            self.add_error("owner", _("%(user)s is not a member of any team.") % {"user": owner})
        return data


@admin.register(Deal)
class DealAdmin(admin.ModelAdmin):
    form = DealAdminForm
    list_display = [
        "title",
        "account",
        "stage",
        "status",
        "amount",
        "currency",
        "owner",
        "team",
        "is_stale",
        "updated_at",
    ]
    list_filter = ["stage", "status", "team", "owner", "is_stale", "source", "lost_reason"]
    search_fields = ["title", "account__name", "external_id", "contact__name"]
    list_select_related = ["account", "owner", "team"]
    autocomplete_fields = ["account", "contact", "owner"]
    date_hierarchy = "created_at"
    inlines = [TransitionInline, ActivityInline]
    # Stage and status move only through the services (actions below), so the history stays true.
    readonly_fields = [
        "stage",
        "status",
        "team",
        "stage_entered_at",
        "closed_at",
        "lost_reason",
        "lost_note",
        "last_activity_at",
        "is_stale",
        "created_at",
        "updated_at",
    ]
    actions = ["reopen_selected"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # deals are created in the app or through the API, where gates and history apply

    def save_model(self, request, obj, form, change):  # type: ignore[no-untyped-def]
        from pipeline.services import deal_update

        fields = {name: form.cleaned_data[name] for name in form.changed_data if name in form.cleaned_data}
        try:
            deal_update(deal=obj, actor=request.user, **fields)
        except DomainError as exc:
            self.message_user(request, exc.message, messages.ERROR)

    @admin.action(description=gettext_lazy("Reopen selected lost deals"))
    def reopen_selected(self, request: HttpRequest, queryset: QuerySet[Deal]) -> None:
        from pipeline.models import Channel
        from pipeline.services import deal_reopen

        done = 0
        for deal in queryset.filter(status="lost"):
            deal_reopen(deal=deal, actor=request.user, channel=Channel.ADMIN)  # type: ignore[arg-type]
            done += 1
        self.message_user(
            request, ngettext("Reopened %(n)d deal.", "Reopened %(n)d deals.", done) % {"n": done}, messages.SUCCESS
        )


@admin.register(StageTransition)
class StageTransitionAdmin(admin.ModelAdmin):
    list_display = ["deal", "occurred_at", "kind", "from_stage", "to_stage", "to_status", "owner", "team", "channel"]
    list_filter = ["kind", "to_stage", "channel", "team"]
    search_fields = ["deal__title"]
    list_select_related = ["deal", "owner", "team"]
    date_hierarchy = "occurred_at"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: StageTransition | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: StageTransition | None = None) -> bool:
        return False


@admin.register(Activity)
class ActivityAdmin(admin.ModelAdmin):
    list_display = ["subject", "kind", "deal", "owner", "created_at", "due_at", "done_at"]
    list_filter = ["kind", "owner"]
    search_fields = ["subject", "deal__title"]
    list_select_related = ["deal", "owner"]
    raw_id_fields = ["deal"]
    autocomplete_fields = ["owner"]


from pipeline import admin_intake  # noqa: E402,F401  (routing rules, quarantine, webhooks)
