from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin

from salesladder.org.models import Membership, Team, User


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["team"]


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    inlines = [MembershipInline]
    list_display = ["username", "email", "first_name", "last_name", "is_superuser", "is_active", "last_login"]
    list_filter = ["is_superuser", "is_active", "memberships__role", "memberships__team"]
    fieldsets = (*BaseUserAdmin.fieldsets, ("SalesLadder", {"fields": ["language"]}))


class ChildTeamInline(admin.TabularInline):
    model = Team
    fk_name = "parent"
    extra = 0
    fields = ["name"]
    show_change_link = True


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
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
