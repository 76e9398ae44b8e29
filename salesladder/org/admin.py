from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from salesladder.org.models import ApiToken, Membership, Team, User
from salesladder.org.selectors import team_descendant_ids
from salesladder.org.services import api_token_revoke


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["team"]


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    inlines = [MembershipInline]
    list_display = ["username", "email", "first_name", "last_name", "is_superuser", "is_active", "last_login"]
    list_filter = ["is_superuser", "is_active", "memberships__role", "memberships__team"]
    fieldsets = (*(BaseUserAdmin.fieldsets or ()), ("SalesLadder", {"fields": ["language"]}))


class ChildTeamInline(admin.TabularInline):
    model = Team
    fk_name = "parent"
    extra = 0
    fields = ["name"]
    show_change_link = True


class TeamAdminForm(forms.ModelForm):
    """The team tree must stay a tree: a team under itself or one of its sub-teams would make each of
    the two managers' scopes include the other's team (the same rule as ``team_update``)."""

    class Meta:
        model = Team
        fields = ["name", "parent"]

    def clean_parent(self) -> Team | None:
        parent: Team | None = self.cleaned_data.get("parent")
        if parent is not None and self.instance.pk and parent.pk in team_descendant_ids(team_ids=[self.instance.pk]):
            raise forms.ValidationError(_("A team cannot be placed under itself or one of its sub-teams."))
        return parent


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    form = TeamAdminForm
    list_display = ["name", "parent", "created_at"]
    list_filter = ["parent"]
    search_fields = ["name"]
    autocomplete_fields = ["parent"]
    inlines = [ChildTeamInline]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "team", "role", "created_at"]
    list_filter = ["role", "team"]
    search_fields = ["user__username", "user__email", "team__name"]
    autocomplete_fields = ["user", "team"]


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Tokens are created with ``create_api_token`` or the profile page (the key is shown once there);
    here they can be inspected and revoked. The key itself is never stored, so never shown."""

    list_display = ["name", "user", "key_prefix", "scope_list", "team", "created_at", "last_used_at", "state"]
    list_filter = ["revoked_at", "team"]
    search_fields = ["name", "prefix", "user__username"]
    readonly_fields = ["user", "key_prefix", "scopes", "created_at", "last_used_at", "revoked_at"]
    fields = ["name", "user", "key_prefix", "scopes", "team", "expires_at", "created_at", "last_used_at", "revoked_at"]
    list_select_related = ["user", "team"]
    actions = ["revoke"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.display(description=_("key"))
    def key_prefix(self, obj: ApiToken) -> str:
        return f"sl_{obj.prefix}_…"

    @admin.display(description=_("scopes"))
    def scope_list(self, obj: ApiToken) -> str:
        return ", ".join(obj.scopes) or str(_("full access"))

    @admin.display(description=_("state"))
    def state(self, obj: ApiToken) -> str:
        if obj.revoked_at:
            return str(_("revoked"))
        if obj.expires_at and obj.expires_at <= timezone.now():
            return str(_("expired"))
        return str(_("active"))

    @admin.action(description=_("Revoke selected tokens"))
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiToken]) -> None:
        count = 0
        for token in queryset.filter(revoked_at__isnull=True):
            api_token_revoke(token=token, actor=request.user)  # type: ignore[arg-type]
            count += 1
        self.message_user(request, ngettext("%d token revoked.", "%d tokens revoked.", count) % count, messages.SUCCESS)
