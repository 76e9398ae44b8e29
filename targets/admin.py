from typing import Any, cast

from django import forms
from django.contrib import admin
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from salesladder.errors import DomainError
from salesladder.org.models import User
from targets.models import (
    FunnelSnapshot,
    IncentiveTier,
    NightlyRun,
    Quota,
    QuotaTemplate,
    QuotaTemplateLine,
    ScopeSnapshot,
    TierMeasure,
)
from targets.quota_selectors import period_from_key
from targets.quota_services import MAX_QUOTA, quota_set, tier_delete, tier_set


def _actor(request: HttpRequest) -> User:
    """The admin site only serves signed-in staff, so its requests always carry a real user."""
    return cast(User, request.user)


class _PeriodForm(forms.ModelForm):
    """Validates the period key on the form, so the service called by ``save_model`` cannot refuse it."""

    def clean_period(self) -> str:
        try:
            return period_from_key(self.cleaned_data.get("period")).key
        except DomainError as exc:
            raise forms.ValidationError(next(iter(exc.errors.values()))) from None


class QuotaForm(_PeriodForm):
    class Meta:
        model = Quota
        fields = ["period", "user", "team", "stage", "value"]

    def clean_value(self) -> int:
        value = self.cleaned_data["value"]
        if value is not None and value > MAX_QUOTA:
            raise forms.ValidationError(_("At most %(max)s.") % {"max": MAX_QUOTA})
        return value


class TierForm(_PeriodForm):
    class Meta:
        model = IncentiveTier
        fields = ["period", "team", "measure", "threshold", "name", "reward"]

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        threshold = data.get("threshold")
        if data.get("measure") == TierMeasure.SIGNINGS and threshold is not None and threshold % 1:
            self.add_error("threshold", _("Signings are counted in whole deals."))
        return data


@admin.register(Quota)
class QuotaAdmin(admin.ModelAdmin):
    form = QuotaForm
    list_display = ["period", "user", "team", "stage", "value", "updated_at"]
    list_filter = ["period", "stage", "team"]
    search_fields = ["user__username", "team__name", "period"]
    autocomplete_fields = ["user", "team"]
    ordering = ["-period", "user__username", "team__name"]

    def save_model(self, request: HttpRequest, obj: Quota, form: Any, change: bool) -> None:
        if change:
            old = Quota.objects.get(pk=obj.pk)
            if (old.period, old.stage, old.user_id, old.team_id) != (obj.period, obj.stage, obj.user_id, obj.team_id):
                quota_set(
                    period=old.period, stage=old.stage, value=None, user=old.user, team=old.team, actor=_actor(request)
                )
        saved = quota_set(
            period=obj.period,
            stage=obj.stage,
            value=obj.value,
            user=obj.user,
            team=obj.team,
            actor=_actor(request),
        )
        obj.pk = saved.pk if saved is not None else None

    def delete_model(self, request: HttpRequest, obj: Quota) -> None:
        quota_set(period=obj.period, stage=obj.stage, value=None, user=obj.user, team=obj.team, actor=_actor(request))


class QuotaTemplateLineInline(admin.TabularInline):
    model = QuotaTemplateLine
    extra = 0
    max_num = 6


@admin.register(QuotaTemplate)
class QuotaTemplateAdmin(admin.ModelAdmin):
    list_display = ["name", "period_kind", "is_default", "created_at"]
    inlines = [QuotaTemplateLineInline]

    def has_delete_permission(self, request: HttpRequest, obj: QuotaTemplate | None = None) -> bool:
        return not (obj is not None and obj.is_default) and super().has_delete_permission(request, obj)


@admin.register(IncentiveTier)
class IncentiveTierAdmin(admin.ModelAdmin):
    form = TierForm
    list_display = ["period", "team", "measure", "threshold", "name", "reward"]
    list_filter = ["period", "measure", "team"]
    search_fields = ["name", "reward", "period"]

    def save_model(self, request: HttpRequest, obj: IncentiveTier, form: Any, change: bool) -> None:
        saved = tier_set(
            tier=obj if change else None,
            period=obj.period,
            team=obj.team,
            measure=obj.measure,
            threshold=obj.threshold,
            name=obj.name,
            reward=obj.reward,
            actor=_actor(request),
        )
        obj.pk = saved.pk

    def delete_model(self, request: HttpRequest, obj: IncentiveTier) -> None:
        tier_delete(tier=obj, actor=_actor(request))


class _ReadOnlyAdmin(admin.ModelAdmin):
    """Written by the nightly job only."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(FunnelSnapshot)
class FunnelSnapshotAdmin(_ReadOnlyAdmin):
    list_display = ["scope_type", "scope_id", "period", "as_of", "stage", "entered", "quota", "cohort_reached"]
    list_filter = ["scope_type", "period", "as_of", "stage"]
    date_hierarchy = "as_of"


@admin.register(ScopeSnapshot)
class ScopeSnapshotAdmin(_ReadOnlyAdmin):
    list_display = ["scope_type", "scope_id", "period", "as_of", "won_count", "won_amount", "lost_count", "stale_count"]
    list_filter = ["scope_type", "period", "as_of"]
    date_hierarchy = "as_of"


@admin.register(NightlyRun)
class NightlyRunAdmin(_ReadOnlyAdmin):
    list_display = ["run_date", "watermark", "started_at", "finished_at"]
    date_hierarchy = "run_date"
